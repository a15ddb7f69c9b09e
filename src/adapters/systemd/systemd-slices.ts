// SliceManager on systemd: SetUnitProperties on user-UID.slice, ListUnitsByPatterns, UnitNew/UserNew.

import { Variant, type Message } from 'dbus-next';
import { DiycloudError } from '../../core/errors';
import { uidFromSliceName, userSliceName, UNLIMITED, type SliceLimits, type U64 } from '../../core/limits-plan';
import type { Logger, SliceManager, SliceState } from '../../core/ports';
import { BusClient, RemoteError } from '../dbus/bus-client';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const U64_MAX = 0xffffffffffffffffn;
const LIMIT_KEYS = ['CPUQuotaPerSecUSec', 'MemoryMax', 'MemoryHigh', 'TasksMax'] as const;

/**
 * Limits are set as *runtime* properties (SetUnitProperties with runtime=true): they live in
 * /run/systemd/system.control and vanish at reboot. The database is the source of truth and the
 * daemon re-applies everything at start, so a reboot, an uninstall or a changed allocation can
 * never leave a stale persistent drop-in behind (docs/enforcement.md).
 */
export class SystemdSliceManager implements SliceManager {
  readonly backend = 'systemd';
  /** Unit object paths learned from ListUnitsByPatterns, so observe() skips a GetUnit round trip. */
  private readonly paths = new Map<number, string>();

  constructor(private readonly client: BusClient, private readonly log: Logger) {}

  async listUserSlices(): Promise<number[]> {
    const [units] = (await this.client
      .call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'ListUnitsByPatterns', signature: 'asas', body: [[], ['user-*.slice']] })
      .catch((e: unknown) => {
        throw backendError('ListUnitsByPatterns user-*.slice', e);
      })) as [unknown[][]];
    const uids: number[] = [];
    for (const u of units) {
      const uid = uidFromSliceName(String(u[0]));
      if (uid === null) continue;
      uids.push(uid);
      if (this.paths.size > 100_000) this.paths.clear();
      this.paths.set(uid, String(u[6]));
    }
    return uids.sort((a, b) => a - b);
  }

  async observe(uid: number): Promise<SliceState | null> {
    const known = this.paths.get(uid);
    if (known) {
      try {
        return await this.read(uid, known);
      } catch {
        this.paths.delete(uid); // the unit went away: ask systemd again
      }
    }
    let path: string;
    try {
      [path] = (await this.client.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'GetUnit', signature: 's', body: [userSliceName(uid)] })) as [string];
    } catch (e) {
      if (e instanceof RemoteError && e.remoteName === 'org.freedesktop.systemd1.NoSuchUnit') return null;
      throw backendError(`GetUnit ${userSliceName(uid)}`, e);
    }
    return this.read(uid, path);
  }

  private async read(uid: number, path: string): Promise<SliceState> {
    const get = async (iface: string, name: string): Promise<unknown> => {
      const [v] = (await this.client.call({ destination: SYSTEMD, path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [iface, name] })) as [Variant];
      return v.value;
    };
    try {
      const names = [...LIMIT_KEYS, 'MemoryCurrent', 'CPUUsageNSec', 'TasksCurrent'] as const;
      const values = await Promise.all(names.map((n) => get('org.freedesktop.systemd1.Slice', n)));
      const limits: Partial<Record<keyof SliceLimits, U64>> = {};
      LIMIT_KEYS.forEach((k, i) => (limits[k] = fromU64(values[i])));
      const [memory, cpu, tasks] = values.slice(LIMIT_KEYS.length).map((v) => {
        const n = fromU64(v);
        return n === UNLIMITED ? null : n;
      });
      return { limits, memoryCurrentBytes: memory, memoryMaxBytes: limits.MemoryMax ?? null, cpuUsageNsec: cpu, tasksCurrent: tasks };
    } catch (e) {
      throw backendError(`reading ${userSliceName(uid)}`, e);
    }
  }

  async apply(uid: number, limits: SliceLimits): Promise<void> {
    const props = LIMIT_KEYS.filter((k) => limits[k] !== undefined).map((k) => [k, new Variant('t', toU64(limits[k] as U64))]);
    try {
      await this.client.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'SetUnitProperties', signature: 'sba(sv)', body: [userSliceName(uid), true, props] });
    } catch (e) {
      throw backendError(`SetUnitProperties ${userSliceName(uid)}`, e);
    }
  }

  async watch(onSlice: (uid: number) => void): Promise<void> {
    const bus = this.client.bus;
    const rules = [
      `type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER}',member='UnitNew'`,
      `type='signal',sender='org.freedesktop.login1',path='/org/freedesktop/login1',interface='org.freedesktop.login1.Manager',member='UserNew'`,
    ];
    bus.on('message', (msg: Message) => {
      if (msg.type !== 4 /* SIGNAL */) return;
      if (msg.interface === MANAGER && msg.member === 'UnitNew') {
        const uid = uidFromSliceName(String(msg.body?.[0]));
        if (uid !== null) onSlice(uid);
      } else if (msg.interface === 'org.freedesktop.login1.Manager' && msg.member === 'UserNew') {
        const uid = Number(msg.body?.[0]);
        if (Number.isInteger(uid)) onSlice(uid);
      }
    });
    for (const rule of rules) {
      await this.client.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
    }
    // systemd only emits unit signals while at least one client is subscribed.
    await this.client.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'Subscribe' }).catch((e: unknown) => {
      this.log.warn(`systemd Subscribe failed: ${(e as Error).message}; new slices are caught by Reconcile only`);
    });
  }
}

function toU64(v: U64): bigint {
  return v === UNLIMITED ? U64_MAX : BigInt(v);
}

function fromU64(v: unknown): U64 {
  const b = typeof v === 'bigint' ? v : BigInt(v as number);
  return b === U64_MAX ? UNLIMITED : Number(b);
}

function backendError(what: string, cause: unknown): DiycloudError {
  return new DiycloudError('BackendFailed', `systemd: ${what} failed`, { cause });
}
