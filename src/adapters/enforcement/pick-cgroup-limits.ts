// Chooses the enforcement backend by probing, the way Cockpit picks its package manager.

import { existsSync } from 'node:fs';
import type { Logger, SliceManager } from '../../core/ports';
import type { BusClient } from '../dbus/bus-client';
import { NoSliceManager } from './none-slices';
import { SystemdSliceManager } from './systemd-slices';

/**
 * "systemd" and "none" are taken as configured. "auto" picks systemd when systemd is PID 1
 * (/run/systemd/system exists, as sd_booted() checks) and org.freedesktop.systemd1 is on our bus;
 * otherwise "none", with a warning, since then nothing is enforced.
 */
export async function pickSliceManager(choice: 'auto' | 'systemd' | 'none', client: BusClient, log: Logger, runDir = '/run/systemd/system'): Promise<SliceManager> {
  if (choice === 'systemd') return new SystemdSliceManager(client, log);
  if (choice === 'none') return new NoSliceManager();
  const booted = existsSync(runDir);
  const [owned] = (await client
    .call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameHasOwner', signature: 's', body: ['org.freedesktop.systemd1'] })
    .catch(() => [false])) as [boolean];
  if (booted && owned) return new SystemdSliceManager(client, log);
  log.warn(`no systemd manager (booted under systemd: ${booted}, org.freedesktop.systemd1 on the bus: ${owned}); backend "none": limits are recorded but not enforced`);
  return new NoSliceManager();
}
