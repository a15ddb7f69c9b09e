// Unit: which cgroup backend "auto" picks (systemd booted and on the bus; else cgroupfs; else none), and the configured choices.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pickCgroupLimits, type CgroupfsFactory } from '../../../src/adapters/enforcement/pick-cgroup-limits';
import type { BusClient } from '../../../src/adapters/dbus/bus-client';
import type { CgroupLimits, Logger } from '../../../src/core/ports';
import { MemoryCgroups } from '../../fakes/memory-cgroups';

const dir = mkdtempSync(join(tmpdir(), 'pick-cgroups-'));
const booted = join(dir, 'systemd-system');
mkdirSync(booted);
const notBooted = join(dir, 'absent');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bus that answers NameHasOwner(org.freedesktop.systemd1) with `owned`, or fails the call. */
const bus = (owned: boolean | 'error'): BusClient => ({
  call: async (spec: { member: string; body?: unknown[] }) => {
    if (spec.member !== 'NameHasOwner' || (spec.body as string[])[0] !== 'org.freedesktop.systemd1') throw new Error(`unexpected call ${spec.member}`);
    if (owned === 'error') throw new Error('bus gone');
    return [owned];
  },
}) as unknown as BusClient;

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: () => undefined, info: (m) => void lines.push(`info: ${m}`), warn: (m) => void lines.push(`warn: ${m}`), error: (m) => void lines.push(`error: ${m}`) };
}
const fs = (): CgroupLimits => Object.assign(new MemoryCgroups(), { backend: 'cgroupfs (v2)' }) as unknown as CgroupLimits;
const usable: CgroupfsFactory = () => ({ limits: fs() });
const unusable: CgroupfsFactory = () => ({ limits: null, reason: 'no cpu and memory controllers' });

describe('pickCgroupLimits', () => {
  it('auto: systemd when it is PID 1 and owns org.freedesktop.systemd1 on the bus', async () => {
    expect((await pickCgroupLimits('auto', bus(true), logger(), usable, booted)).backend).toBe('systemd');
  });
  it.each([
    ['booted, but systemd1 not on the bus (a private bus)', true, false],
    ['systemd1 on the bus but not booted under systemd', false, true],
    ['the NameHasOwner call fails', true, 'error'],
  ] as const)('auto: cgroupfs when %s', async (_why, isBooted, owned) => {
    const log = logger();
    const c = await pickCgroupLimits('auto', bus(owned), log, usable, isBooted ? booted : notBooted);
    expect(c.backend).toBe('cgroupfs (v2)');
    expect(log.lines.join('\n')).toMatch(/no systemd manager .*backend "cgroupfs \(v2\)": diycloud manages its own cgroups/);
  });
  it('auto: none, with a warning, when neither systemd nor a usable hierarchy is there', async () => {
    const log = logger();
    expect((await pickCgroupLimits('auto', bus(false), log, unusable, notBooted)).backend).toBe('none');
    expect(log.lines.join('\n')).toMatch(/^warn: .*no usable cgroup hierarchy \(no cpu and memory controllers\); backend "none"/);
  });
  it('configured choices are taken as they are; cgroupfs without a hierarchy refuses to start', async () => {
    expect((await pickCgroupLimits('systemd', bus(false), logger(), unusable, notBooted)).backend).toBe('systemd');
    expect((await pickCgroupLimits('none', bus(true), logger(), usable, booted)).backend).toBe('none');
    expect((await pickCgroupLimits('cgroupfs', bus(true), logger(), usable, booted)).backend).toBe('cgroupfs (v2)');
    await expect(pickCgroupLimits('cgroupfs', bus(true), logger(), unusable, booted)).rejects.toThrow(/\[Backend\] Cgroups=cgroupfs, but no cpu and memory controllers/);
  });
});
