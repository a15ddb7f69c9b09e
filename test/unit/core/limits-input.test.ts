// Unit: validating SetLimits/SetProfile limits (plain values), roles and e-mail addresses.
import { describe, expect, it } from 'vitest';
import { parseLimits } from '../../../src/core/limits-input';
import { validateRole } from '../../../src/core/roles';
import { validateEmail } from '../../../src/core/email';
import { resolveAllocation } from '../../../src/core/allocation-decision';

describe('parseLimits', () => {
  it('decodes every key, sizes as strings or bytes', () => {
    expect(parseLimits({ cpu: 1.5, memory: '2G', disk: 10 * 1024 ** 3, gpu: true, tasks: 500 })).toEqual({
      cpu: 1.5, memory: '2G', disk: '10G', gpu: 'all', tasks: 500,
    });
  });
  it('gpu: none, all, indices (stored sorted, without spaces) and the old boolean', () => {
    expect(parseLimits({ gpu: 'none' })).toEqual({ gpu: 'none' });
    expect(parseLimits({ gpu: 'ALL' })).toEqual({ gpu: 'all' });
    expect(parseLimits({ gpu: '2, 0' })).toEqual({ gpu: '0,2' });
    expect(parseLimits({ gpu: false })).toEqual({ gpu: 'none' });
  });
  it.each([
    [{}, /give at least one of cpu, memory, disk, gpu, tasks/],
    [{ cpus: 1 }, /unknown key "cpus"; known keys/],
    [{ cpu: 0 }, /limits\.cpu: expected a positive number/],
    [{ cpu: -1 }, /limits\.cpu/],
    [{ cpu: '1' }, /limits\.cpu/],
    [{ memory: '2 G' }, /limits\.memory: "2 G" is not a size/],
    [{ memory: true }, /limits\.memory: expected a size string/],
    [{ memory: 2 ** 60 }, /limits\.memory: too large/],
    [{ gpu: 'yes' }, /limits\.gpu: "yes" is not a GPU index/],
    [{ gpu: '-1' }, /limits\.gpu: GPU index "-1" is negative/],
    [{ gpu: '0,0' }, /limits\.gpu: GPU index 0 is given twice/],
    [{ gpu: '' }, /limits\.gpu: expected "none", "all"/],
    [{ gpu: '0,,1' }, /limits\.gpu/],
    [{ gpu: '1000' }, /limits\.gpu: GPU index 1000 is above 255/],
    [{ gpu: 1 }, /limits\.gpu: expected "none", "all" or GPU indices/],
    [{ tasks: 0 }, /limits\.tasks: expected a positive integer/],
    [{ tasks: 1.5 }, /limits\.tasks: expected a positive integer/],
  ])('rejects input #%#', (input, msg) => expect(() => parseLimits(input as never)).toThrow(msg));
});

describe('roles and e-mail', () => {
  it('validates role names like user names', () => {
    expect(validateRole('gpu-users')).toBe('gpu-users');
    for (const bad of ['', 'Admin', '-x', 'a b', 'a'.repeat(33)]) expect(() => validateRole(bad)).toThrow(/role:/);
  });
  it('accepts plain addresses, clears with "", refuses the rest', () => {
    expect(validateEmail('alice@example.org')).toBe('alice@example.org');
    expect(validateEmail('')).toBeNull();
    for (const bad of ['alice', 'a@b', 'a@@b.org', 'a b@c.org', 'a@b..org', `${'a'.repeat(65)}@b.org`, 'a@-b.org', 'a\n@b.org']) expect(() => validateEmail(bad)).toThrow(/email:/);
  });
});

describe('resolveAllocation: user, then role, then default', () => {
  const defaults = { cpuCores: 1, memoryMaxBytes: 2 * 1024 ** 3, diskQuotaBytes: 5 * 1024 ** 3, gpus: { kind: 'none' } as const, tasksMax: null };
  const none = { cpu: null, memory: null, disk: null, gpu: null, tasks: null };
  it('takes each value from the first layer that has one', () => {
    const r = resolveAllocation({ ...none, cpu: 4 }, defaults, { ...none, cpu: 2, memory: '8G', gpu: '0,2' });
    expect(r.allocation).toMatchObject({ cpuCores: 4, memoryMaxBytes: 8 * 1024 ** 3, gpus: { kind: 'some', indices: [0, 2] }, diskQuotaBytes: 5 * 1024 ** 3 });
    expect(r.sources).toEqual({ cpuCores: 'user', memoryMaxBytes: 'role', gpus: 'role', diskQuotaBytes: 'default', tasksMax: 'default' });
  });
  it('skips an invalid stored layer value and reports it', () => {
    const r = resolveAllocation({ ...none, memory: 'lots' }, defaults, { ...none, memory: '4G' });
    expect(r.allocation.memoryMaxBytes).toBe(4 * 1024 ** 3);
    expect(r.sources.memoryMaxBytes).toBe('role');
    expect(r.problems[0]).toMatch(/stored user value "lots" is invalid/);
  });
});
