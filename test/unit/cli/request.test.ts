// Unit: diycloudctl request's argument encoding (ids, ListRequests options); usage errors before any call.
import { describe, expect, it } from 'vitest';
import { encodeRequestQuery, parseRequestId } from '../../../src/entry/cli/commands/request';

describe('diycloudctl request', () => {
  it('takes ids 1..4294967295 only', () => {
    expect(parseRequestId('12')).toBe(12);
    expect(parseRequestId('4294967295')).toBe(4294967295);
    for (const bad of ['0', '-1', '1.5', 'x', '4294967296']) expect(() => parseRequestId(bad), bad).toThrow(/ID/);
  });
  it('encodes list options with their D-Bus types, and refuses a bad state or count', () => {
    const q = encodeRequestQuery({ user: 'alice', state: 'pending', limit: '20', offset: '0' });
    expect(Object.fromEntries(Object.entries(q).map(([k, v]) => [k, `${v.signature}:${String(v.value)}`]))).toEqual({ user: 's:alice', state: 's:pending', limit: 'u:20', offset: 'u:0' });
    expect(encodeRequestQuery({})).toEqual({});
    expect(() => encodeRequestQuery({ state: 'open' })).toThrow(/--state: expected pending, approved, denied, all/);
    expect(() => encodeRequestQuery({ limit: '0' })).toThrow(/--limit/);
    expect(() => encodeRequestQuery({ offset: 'x' })).toThrow(/--offset/);
  });
});
