// GpuAccess on systemd: DevicePolicy and DeviceAllow on user-UID.slice through SetUnitProperties.

import { Variant } from 'dbus-next';
import { DiycloudError } from '../../core/errors';
import { systemdDeviceRules, type DevicePlan } from '../../core/device-rules';
import type { GpuEnforcement } from '../../core/gpu';
import type { GpuAccess } from '../../core/ports';
import type { BusClient } from '../dbus/bus-client';
import { deviceHolders, killAll } from '../gpu/gpu-holders';
import { userSliceName } from './unit-names';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

/**
 * One SetUnitProperties call on user-UID.slice carrying DevicePolicy, an empty DeviceAllow (which
 * resets the list: a non-empty DeviceAllow appends to it) and then the list. systemd builds the
 * cgroup's device program from that (a BPF program on cgroup v2, devices.allow/deny on v1), so the
 * kernel refuses every node not listed, and resolves char-NAME against /proc/devices as it does.
 *
 * runtime=true, like the CPU and memory limits (systemd-slices.ts): systemd writes the settings to
 * drop-ins under /run/systemd/system.control/user-UID.slice.d/. A `systemctl daemon-reload` re-reads
 * every unit with its drop-ins, runtime ones included, and re-realizes the cgroup from them, so the
 * policy survives it (a persistent drop-in in /etc/systemd/system.control would too). What would
 * not survive is writing the cgroup's device files behind systemd's back: daemon-reload rebuilds
 * the device program from the unit and drops such writes. Runtime drop-ins vanish at reboot, and
 * the daemon re-applies every user's policy at start (the database is the source of truth).
 */
export class SystemdDevices implements GpuAccess {
  readonly backend = 'systemd';
  /** UIDs this daemon gave a closed policy: on a host without GPUs nothing is sent for anyone else (no call per login for nothing). */
  private readonly restricted = new Set<number>();

  constructor(private readonly client: BusClient, private readonly procRoot = '/proc') {}

  status(): GpuEnforcement {
    return { backend: this.backend, state: 'device cgroup', reason: 'DevicePolicy=closed and DeviceAllow= on each user-UID.slice: the kernel refuses GPU nodes a user was not granted' };
  }

  /**
   * An unrestricted plan (no GPU node, no GPU driver) is sent only to undo a closed policy this
   * daemon set; a drop-in left by an earlier run while the host had GPUs stays until reboot, and
   * lists every device class of that time, so what the user had still opens.
   */
  async apply(uid: number, plan: DevicePlan): Promise<void> {
    if (!plan.restrict && !this.restricted.has(uid)) return;
    const rules = systemdDeviceRules(plan);
    const props: [string, Variant][] = [
      ['DevicePolicy', new Variant('s', rules.devicePolicy)],
      ['DeviceAllow', new Variant('a(ss)', [])],
    ];
    if (rules.deviceAllow.length > 0) props.push(['DeviceAllow', new Variant('a(ss)', rules.deviceAllow.map(([p, a]) => [p, a]))]);
    try {
      await this.client.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'SetUnitProperties', signature: 'sba(sv)', body: [userSliceName(uid), true, props] });
    } catch (e) {
      throw new DiycloudError('BackendFailed', `systemd: SetUnitProperties DevicePolicy/DeviceAllow on ${userSliceName(uid)} failed: ${(e as Error).message}`, { cause: e });
    }
    if (plan.restrict) this.restricted.add(uid);
    else this.restricted.delete(uid);
  }

  /** The slice holds every process of the user's sessions: nothing to move. */
  async placeProcess(): Promise<'unsupported'> {
    return 'unsupported';
  }

  async holders(uid: number, nodePaths: readonly string[]): Promise<{ pids: number[]; unreadable: number }> {
    return deviceHolders(uid, nodePaths, this.procRoot);
  }

  async kill(pids: readonly number[]): Promise<number[]> {
    return killAll(pids);
  }
}
