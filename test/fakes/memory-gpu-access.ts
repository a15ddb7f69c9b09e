// An in-memory GpuAccess for unit tests: it keeps each user's v1-style device rules and answers opens from them; it passes the GpuAccess contract.

import { v1DeviceRules, type DevicePlan } from '../../src/core/device-rules';
import type { GpuEnforcement } from '../../src/core/gpu';
import type { GpuAccess } from '../../src/core/ports';

export class MemoryGpuAccess implements GpuAccess {
  readonly backend = 'memory';
  /** The allow lines in force per UID (absent: nothing restricted). */
  readonly rules = new Map<number, readonly string[]>();
  readonly applied: { uid: number; plan: DevicePlan }[] = [];
  readonly placements: { uid: number; pid: number }[] = [];
  /** Open descriptors per PID: uid and the node paths it holds (tests fill it). */
  readonly open = new Map<number, { uid: number; paths: string[] }>();
  readonly killed: number[] = [];
  state: GpuEnforcement['state'] = 'device cgroup';
  failApply = false;

  status(): GpuEnforcement {
    return { backend: this.backend, state: this.state, reason: this.state === 'device cgroup' ? 'in-memory device rules' : 'groups only (test)' };
  }

  async apply(uid: number, plan: DevicePlan): Promise<void> {
    if (this.failApply) throw new Error('apply failed (test)');
    this.applied.push({ uid, plan });
    const r = v1DeviceRules(plan);
    if (r.closed) this.rules.set(uid, r.allow);
    else this.rules.delete(uid);
  }

  async placeProcess(uid: number, pid: number): Promise<'placed'> {
    this.placements.push({ uid, pid });
    return 'placed';
  }

  async holders(uid: number, nodePaths: readonly string[]): Promise<{ pids: number[]; unreadable: number }> {
    const pids = [...this.open].filter(([, o]) => o.uid === uid && o.paths.some((p) => nodePaths.includes(p))).map(([pid]) => pid);
    return { pids: pids.sort((a, b) => a - b), unreadable: 0 };
  }

  async kill(pids: readonly number[]): Promise<number[]> {
    const done = pids.filter((p) => this.open.delete(p));
    this.killed.push(...done);
    return done;
  }

  /** Whether a process of `uid`'s cgroup may open the character device major:minor (the kernel's check). */
  mayOpen(uid: number, type: 'c' | 'b', major: number, minor: number): boolean {
    const lines = this.rules.get(uid);
    if (!lines) return true;
    return lines.some((l) => {
      const m = /^([abc]) (\*|[0-9]+):(\*|[0-9]+) /.exec(l);
      if (!m) return false;
      return (m[1] === 'a' || m[1] === type) && (m[2] === '*' || Number(m[2]) === major) && (m[3] === '*' || Number(m[3]) === minor);
    });
  }
}
