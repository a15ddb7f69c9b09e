import { describe, expect, it } from 'vitest';
import { DiycloudError } from '../../../src/core/errors';
import { checkPendingCount, checkState, decide, validateFiling, type LimitRequest } from '../../../src/core/limit-request';

const err = (f: () => unknown): DiycloudError => {
  try {
    f();
  } catch (e) {
    return e as DiycloudError;
  }
  throw new Error('expected a throw');
};

const pending: LimitRequest = {
  id: 7, user: 'alice', uid: 1001, resource: 'memory', amount: '8G', reason: 'training', state: 'pending',
  filedAt: '2026-12-02T20:00:00.000Z', decidedAt: null, decidedBy: null, decisionReason: null, applied: false,
};

describe('validateFiling', () => {
  it('accepts each resource in the limits syntax and returns the canonical amount', () => {
    expect(validateFiling('cpu', '4', 'build')).toEqual({ resource: 'cpu', amount: '4', reason: 'build' });
    expect(validateFiling('memory', '8192M', ' big model ').amount).toBe(validateFiling('memory', '8G', 'x').amount);
    expect(validateFiling('gpu', 'all', 'cuda').amount).toBe('all');
    expect(validateFiling('tasks', '512', 'make -j').amount).toBe('512');
    expect(validateFiling('memory', '8G', ' big model ').reason).toBe('big model');
  });
  it('refuses a bad resource, amount or reason, naming the field', () => {
    expect(err(() => validateFiling('ram', '8G', 'x'))).toMatchObject({ code: 'InvalidArgument', field: 'resource' });
    expect(err(() => validateFiling('cpu', 'lots', 'x'))).toMatchObject({ code: 'InvalidArgument', field: 'amount' });
    expect(err(() => validateFiling('memory', '8Q', 'x'))).toMatchObject({ code: 'InvalidArgument', field: 'amount' });
    expect(err(() => validateFiling('tasks', '0', 'x'))).toMatchObject({ code: 'InvalidArgument', field: 'amount' });
    expect(err(() => validateFiling('cpu', '2', '   '))).toMatchObject({ code: 'InvalidArgument', field: 'reason' });
    expect(err(() => validateFiling('cpu', '2', 'x'.repeat(501)))).toMatchObject({ code: 'InvalidArgument', field: 'reason' });
    expect(validateFiling('cpu', '2', 'x'.repeat(500)).reason).toHaveLength(500);
    expect(err(() => validateFiling('cpu', '2', 'a\u0007b'))).toMatchObject({ code: 'InvalidArgument', field: 'reason' });
  });
});

describe('decide', () => {
  it('moves pending to approved or denied, recording who, when and why', () => {
    const a = decide(pending, true, 0, '', '2026-12-02T21:00:00.000Z');
    expect(a).toMatchObject({ state: 'approved', decidedBy: 0, decidedAt: '2026-12-02T21:00:00.000Z', decisionReason: null, applied: true });
    const d = decide(pending, false, 1002, 'not now', '2026-12-02T21:00:00.000Z');
    expect(d).toMatchObject({ state: 'denied', decidedBy: 1002, decisionReason: 'not now', applied: false });
  });
  it('a denial needs a reason; a decided request is RequestClosed', () => {
    expect(err(() => decide(pending, false, 0, ' ', 'now'))).toMatchObject({ code: 'InvalidArgument', field: 'reason' });
    const a = decide(pending, true, 0, 'ok', 'now');
    expect(err(() => decide(a, false, 0, 'again', 'now')).code).toBe('RequestClosed');
    expect(err(() => decide(a, true, 0, '', 'now')).code).toBe('RequestClosed');
  });
});

describe('limits on filing and listing', () => {
  it('at most 5 pending per user', () => {
    expect(() => checkPendingCount(4)).not.toThrow();
    expect(err(() => checkPendingCount(5)).code).toBe('InvalidArgument');
  });
  it('state filter', () => {
    expect(checkState('all')).toBe('all');
    expect(err(() => checkState('open'))).toMatchObject({ field: 'state' });
  });
});
