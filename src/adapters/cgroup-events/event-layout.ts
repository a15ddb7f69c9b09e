// Where a user cgroup's counter files are, per backend and cgroup version, and how to read them.

import type { CgroupfsProbe } from '../cgroupfs/hierarchy';
import { PARENT_GROUP } from '../cgroupfs/cgroupfs-limits';
import { uidFromSliceName, userSliceName } from '../systemd/unit-names';

/** One counter file of a user's cgroup. */
export interface CounterFile {
  /** The directory holding the user cgroups for this file's controller (scanned for user entries). */
  readonly parent: string;
  readonly file: string;
}

/**
 * The files the watcher reads. fast: read on every notification or poll (memory, pids); slow:
 * cpu.stat, read at the sample interval. v2 kernfs notifies (inotify IN_MODIFY) on memory.events
 * and pids.events; v1 notifies nothing (memory.oom_control wants an eventfd through
 * cgroup.event_control, out of Node's reach), so v1 is polled.
 */
export interface EventLayout {
  readonly version: 'v1' | 'v2';
  readonly memory: CounterFile | null;
  readonly pids: CounterFile | null;
  readonly cpu: CounterFile | null;
  /** The user cgroup's directory name, and back. */
  name(uid: number): string;
  uidOf(name: string): number | null;
}

const cgroupfsName = (uid: number) => `user-${uid}`;
const cgroupfsUid = (name: string): number | null => {
  const m = /^user-(0|[1-9][0-9]{0,9})$/.exec(name);
  return m && Number(m[1]) <= 0xfffffffe ? Number(m[1]) : null;
};

/**
 * The layout for the backend in use: "systemd" puts users in user.slice/user-UID.slice (at the v2
 * root, or in each v1 hierarchy on a hybrid host); cgroupfs in diycloud/user-UID. null for "none".
 */
export function eventLayout(backend: string, probe: CgroupfsProbe): EventLayout | null {
  if (probe.version === null || backend === 'none') return null;
  const systemd = backend === 'systemd';
  const sub = systemd ? 'user.slice' : PARENT_GROUP;
  const [name, uidOf] = systemd ? [userSliceName, uidFromSliceName] : [cgroupfsName, cgroupfsUid];
  if (probe.version === 'v2') {
    const parent = `${probe.mountPoint}/${sub}`;
    return { version: 'v2', memory: { parent, file: 'memory.events' }, pids: { parent, file: 'pids.events' }, cpu: { parent, file: 'cpu.stat' }, name, uidOf };
  }
  const h = probe.hierarchies;
  return {
    version: 'v1',
    memory: { parent: `${h.memory.mountPoint}/${sub}`, file: 'memory.oom_control' },
    pids: h.pids ? { parent: `${h.pids.mountPoint}/${sub}`, file: 'pids.events' } : null,
    cpu: { parent: `${h.cpu.mountPoint}/${sub}`, file: 'cpu.stat' },
    name,
    uidOf,
  };
}

/** A value of a flat-keyed cgroup file ("key value" lines), or null when absent. */
export function keyedValue(text: string, key: string): number | null {
  const m = new RegExp(`^${key} ([0-9]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** memory: v2 memory.events oom_kill and high; v1 memory.oom_control oom_kill (v1 has no "high" event). */
export function memoryCounters(version: 'v1' | 'v2', text: string): { oomKill: number | null; memoryHigh: number | null } {
  return { oomKill: keyedValue(text, 'oom_kill'), memoryHigh: version === 'v2' ? keyedValue(text, 'high') : null };
}

/** cpu.stat: v2 throttled_usec; v1 throttled_time in ns. */
export function throttledUsec(version: 'v1' | 'v2', text: string): number | null {
  if (version === 'v2') return keyedValue(text, 'throttled_usec');
  const ns = keyedValue(text, 'throttled_time');
  return ns === null ? null : Math.floor(ns / 1000);
}
