// Chooses the CgroupLimits backend by probing, the way Cockpit picks its package manager.

import { existsSync } from 'node:fs';
import type { CgroupLimits, Logger } from '../../core/ports';
import type { BusClient } from '../dbus/bus-client';
import { SystemdSliceManager } from '../systemd/systemd-slices';
import { NoCgroupLimits } from './none-cgroups';

export type CgroupChoice = 'auto' | 'systemd' | 'cgroupfs' | 'none';

/** The cgroupfs backend, built only when chosen (it probes /sys/fs/cgroup); null with a reason when this host has no usable hierarchy. */
export type CgroupfsFactory = () => { limits: CgroupLimits } | { limits: null; reason: string };

/**
 * "systemd", "cgroupfs" and "none" are taken as configured ("cgroupfs" without a usable hierarchy
 * refuses to start: an admin asked for enforcement). "auto":
 *  1. systemd, when systemd is PID 1 (/run/systemd/system exists, as sd_booted() checks) and
 *     org.freedesktop.systemd1 is on our bus: it owns the cgroup tree, so no one else may write it;
 *  2. otherwise cgroupfs, when /sys/fs/cgroup has the cpu and memory controllers (v2 or v1);
 *  3. otherwise none, with a warning, since then nothing is enforced.
 */
export async function pickCgroupLimits(choice: CgroupChoice, client: BusClient, log: Logger, cgroupfs: CgroupfsFactory, runDir = '/run/systemd/system'): Promise<CgroupLimits> {
  if (choice === 'systemd') return new SystemdSliceManager(client, log);
  if (choice === 'none') return new NoCgroupLimits();
  if (choice === 'cgroupfs') {
    const c = cgroupfs();
    if (c.limits === null) throw new Error(`[Backend] Cgroups=cgroupfs, but ${c.reason}`);
    return c.limits;
  }
  const booted = existsSync(runDir);
  const [owned] = (await client
    .call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: ['org.freedesktop.systemd1'] })
    .catch(() => [false])) as [boolean];
  if (booted && owned) return new SystemdSliceManager(client, log);
  const c = cgroupfs();
  if (c.limits !== null) {
    log.info(`no systemd manager (booted under systemd: ${booted}, org.freedesktop.systemd1 on the bus: ${owned}); backend "${c.limits.backend}": diycloud manages its own cgroups`);
    return c.limits;
  }
  log.warn(`no systemd manager (booted under systemd: ${booted}, org.freedesktop.systemd1 on the bus: ${owned}) and no usable cgroup hierarchy (${c.reason}); backend "none": limits are recorded but not enforced`);
  return new NoCgroupLimits();
}
