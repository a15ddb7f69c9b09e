// Unit: diycloudctl's command-line values to Manager1's a{sv} dictionaries.
import { describe, expect, it } from 'vitest';
import { Variant } from 'dbus-next';
import { encodeAuditFilter, encodeCreateOptions, encodeDeleteOptions, encodeGpuRevoke, encodeLimits, encodeUserFilter, encodeUserQuery, parseCores } from '../../../src/entry/cli/encode';
import { UsageError } from '../../../src/entry/cli/errors';
import { pageLine } from '../../../src/entry/cli/views';

const sig = (d: Record<string, Variant>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, [v.signature, v.value]]));

describe('encodeLimits', () => {
  it('encodes cpu as d, sizes as s strings, --gpus as an s and tasks as a t bigint', () => {
    expect(sig(encodeLimits({ cpu: '2', memory: '2G', disk: '20G', gpus: '0,2', tasks: '500' }))).toEqual({
      cpu: ['d', 2], memory: ['s', '2G'], disk: ['s', '20G'], gpu: ['s', '0,2'], tasks: ['t', 500n],
    });
  });
  it('sends only the keys given; --gpu and --no-gpu are --gpus all and none; both forms at once is a usage error', () => {
    expect(sig(encodeLimits({ cpu: '0.5' }))).toEqual({ cpu: ['d', 0.5] });
    expect(sig(encodeLimits({ gpu: false }))).toEqual({ gpu: ['s', 'none'] });
    expect(sig(encodeLimits({ gpu: true }))).toEqual({ gpu: ['s', 'all'] });
    expect(() => encodeLimits({ gpu: true, gpus: '0' })).toThrow(UsageError);
  });
  it('needs at least one key (a usage error, exit 2)', () => {
    expect(() => encodeLimits({})).toThrow(UsageError);
    try {
      encodeLimits({});
    } catch (e) {
      expect((e as UsageError).exitCode).toBe(2);
    }
  });
  it('refuses cores that are not a positive number and tasks that are not a whole number', () => {
    for (const bad of ['abc', '-1', '0', '1e3', '', '2 ', 'NaN', 'Infinity']) expect(() => parseCores(bad), bad).toThrow(UsageError);
    expect(parseCores('.5')).toBe(0.5);
    for (const bad of ['-1', '1.5', 'x', '99999999999999999999']) expect(() => encodeLimits({ tasks: bad }), bad).toThrow(UsageError);
  });
  it('leaves size validation to the daemon (which names the field)', () => {
    expect(sig(encodeLimits({ memory: 'lots' }))).toEqual({ memory: ['s', 'lots'] });
  });
});

describe('filters', () => {
  it('ListUsers: role s, enabled b; --enabled with --disabled is a usage error', () => {
    expect(sig(encodeUserFilter({}))).toEqual({});
    expect(sig(encodeUserFilter({ role: 'staff', disabled: true }))).toEqual({ role: ['s', 'staff'], enabled: ['b', false] });
    expect(sig(encodeUserFilter({ enabled: true }))).toEqual({ enabled: ['b', true] });
    expect(() => encodeUserFilter({ enabled: true, disabled: true })).toThrow(UsageError);
  });
  it('QueryUsers: the filter keys, search s, limit and offset u, sort s, order "desc", hasGpu and overQuota b', () => {
    expect(sig(encodeUserQuery({}))).toEqual({});
    expect(sig(encodeUserQuery({ role: 'staff', enabled: true, search: 'Ali', limit: '10', offset: '0', sort: 'memory', desc: true, hasGpu: true, overQuota: true }))).toEqual({
      role: ['s', 'staff'], enabled: ['b', true], search: ['s', 'Ali'], limit: ['u', 10], offset: ['u', 0], sort: ['s', 'memory'], order: ['s', 'desc'], hasGpu: ['b', true], overQuota: ['b', true],
    });
    for (const bad of ['0', '-1', 'ten', '4294967296']) expect(() => encodeUserQuery({ limit: bad }), bad).toThrow(UsageError);
    for (const bad of ['-1', 'x', '4294967296']) expect(() => encodeUserQuery({ offset: bad }), bad).toThrow(UsageError);
    expect(() => encodeUserQuery({ enabled: true, disabled: true })).toThrow(UsageError);
  });
  it('the line under a page: 1-based and inclusive; an empty page says so', () => {
    expect(pageLine({ total: 120, offset: 50, users: new Array(50) })).toBe('showing 51-100 of 120 users\n');
    expect(pageLine({ total: 0, offset: 0, users: [] })).toBe('showing 0 of 0 users\n');
    expect(pageLine({ total: 3, offset: 5, users: [] })).toBe('showing 0 of 3 users (offset 5 is past the end)\n');
  });
  it('GetAuditLog: user s, limit u in 1..2^32-1', () => {
    expect(sig(encodeAuditFilter({ user: 'alice', limit: '20' }))).toEqual({ user: ['s', 'alice'], limit: ['u', 20] });
    for (const bad of ['0', '-3', 'ten', '4294967296']) expect(() => encodeAuditFilter({ limit: bad }), bad).toThrow(UsageError);
  });
});

describe('user add / user del options', () => {
  const nested = (d: Record<string, Variant>) =>
    Object.fromEntries(Object.entries(d).map(([k, v]) => [k, [v.signature, v.signature === 'a{sv}' ? sig(v.value as Record<string, Variant>) : v.value]]));
  it('CreateUser: nothing given is an empty dictionary (default shell, role limits, no password)', () => {
    expect(encodeCreateOptions({}, null)).toEqual({});
  });
  it('CreateUser: password s only when one was read, shell s, limits a{sv} with SetLimits keys', () => {
    expect(nested(encodeCreateOptions({ shell: '/bin/sh', cpu: '2', memory: '4G', disk: '20G', gpu: false, tasks: '300' }, 'pw'))).toEqual({
      password: ['s', 'pw'],
      shell: ['s', '/bin/sh'],
      limits: ['a{sv}', { cpu: ['d', 2], memory: ['s', '4G'], disk: ['s', '20G'], gpu: ['s', 'none'], tasks: ['t', 300n] }],
    });
    expect(nested(encodeCreateOptions({ gpu: true }, null))).toEqual({ limits: ['a{sv}', { gpu: ['s', 'all'] }] });
  });
  it('CreateUser: bad limit options are usage errors', () => {
    expect(() => encodeCreateOptions({ cpu: 'lots' }, null)).toThrow(UsageError);
    expect(() => encodeCreateOptions({ tasks: '-1' }, null)).toThrow(UsageError);
  });
  it('DeleteUser: force b and remove_home b, sent only when set', () => {
    expect(encodeDeleteOptions({})).toEqual({});
    expect(sig(encodeDeleteOptions({ force: true, removeHome: true }))).toEqual({ force: ['b', true], remove_home: ['b', true] });
    expect(sig(encodeDeleteOptions({ removeHome: true }))).toEqual({ remove_home: ['b', true] });
  });
});

describe('limits set --gpu-revoke', () => {
  it('report and kill go as SetLimits\' gpuRevoke s; anything else is a usage error before any call (exit 2)', () => {
    expect([encodeGpuRevoke('report').signature, encodeGpuRevoke('report').value]).toEqual(['s', 'report']);
    expect(encodeGpuRevoke('kill').value).toBe('kill');
    expect(() => encodeGpuRevoke('KILL')).toThrow(UsageError);
    expect(() => encodeGpuRevoke('')).toThrow(/--gpu-revoke: expected report or kill/);
  });
});
