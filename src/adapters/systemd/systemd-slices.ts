// CgroupLimits on systemd: SetUnitProperties on user-UID.slice, ListUnitsByPatterns, UnitNew/UserNew, scopes for moved logins.

import { Variant, type Message } from 'dbus-next';
import { DiycloudError } from '../../core/errors';
import { CGROUP_SETTING_KEYS, UNLIMITED, type CgroupSettings, type U64 } from '../../core/enforcement-plan';
import { isValidScopeName, scopeUnitName } from '../../core/placement';
import type { CgroupLimits, CgroupState, Logger } from '../../core/ports';
import { BusClient, RemoteError } from '../dbus/bus-client';
import { uidFromSliceName, userSliceName } from './unit-names';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const U64_MAX = 0xffffffffffffffffn;
/** systemd's name for each backend-neutral setting (all uint64, "infinity" = 2^64-1). */
const PROPERTY: Record<keyof CgroupSettings, string> = { cpuQuotaPerSecUsec: 'CPUQuotaPerSecUSec', memoryMaxBytes: 'MemoryMax', memoryHighBytes: 'MemoryHigh', tasksMax: 'TasksMax' };
const DBUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;
const JOB_REMOVED_RULE = `type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER}',member='JobRemoved'`;
/** JobRemoved signals of our scopes that arrived before StartTransientUnit's reply was handled. */
const MAX_EARLY_JOBS = 64;

interface JobEnd {
  readonly unit: string;
  readonly result: string;
}

/**
 * Limits are set as *runtime* properties (SetUnitProperties with runtime=true): they live in
 * /run/systemd/system.control and vanish at reboot. The database is the source of truth and the
 * daemon re-applies everything at start, so a reboot, an uninstall or a changed allocation can
 * never leave a stale persistent drop-in behind (docs/enforcement.md).
 */
export class SystemdSliceManager implements CgroupLimits {
  readonly backend = 'systemd';
  /** Unit object paths learned from ListUnitsByPatterns, so observe() skips a GetUnit round trip. */
  private readonly paths = new Map<number, string>();
  /** One Subscribe per connection: systemd answers a second one with AlreadySubscribed. */
  private subscribed: Promise<void> | null = null;
  private jobWatch: Promise<void> | null = null;
  private listening = false;
  /** systemd's unique bus name, as last asked: JobRemoved from any other sender is forged and dropped. */
  private systemdName: string | null = null;
  private readonly jobWaiters = new Map<string, (end: JobEnd) => void>();
  private readonly earlyJobs = new Map<string, JobEnd>();

  constructor(private readonly client: BusClient, private readonly log: Logger, private readonly opts: { jobTimeoutMs: number } = { jobTimeoutMs: 5_000 }) {}

  async listUsers(): Promise<number[]> {
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

  async observe(uid: number): Promise<CgroupState | null> {
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

  /** One GetAll of the Slice interface (not one Get per property): the settings and live usage together. */
  private async read(uid: number, path: string): Promise<CgroupState> {
    try {
      const [props] = (await this.client.call({ destination: SYSTEMD, path, interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: ['org.freedesktop.systemd1.Slice'] })) as [Record<string, Variant>];
      const value = (name: string): U64 | null => (props[name] === undefined ? null : fromU64(props[name].value));
      const settings: { -readonly [K in keyof CgroupSettings]?: U64 } = {};
      for (const k of CGROUP_SETTING_KEYS) {
        const v = value(PROPERTY[k]);
        if (v !== null) settings[k] = v;
      }
      const usage = (name: string): number | null => {
        const v = value(name);
        return v === UNLIMITED ? null : v;
      };
      return { settings, memoryCurrentBytes: usage('MemoryCurrent'), memoryMaxBytes: settings.memoryMaxBytes ?? null, cpuUsageNsec: usage('CPUUsageNSec'), tasksCurrent: usage('TasksCurrent') };
    } catch (e) {
      throw backendError(`reading ${userSliceName(uid)}`, e);
    }
  }

  async apply(uid: number, settings: CgroupSettings): Promise<void> {
    const props = CGROUP_SETTING_KEYS.filter((k) => settings[k] !== undefined).map((k) => [PROPERTY[k], new Variant('t', toU64(settings[k] as U64))]);
    try {
      await this.client.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'SetUnitProperties', signature: 'sba(sv)', body: [userSliceName(uid), true, props] });
    } catch (e) {
      throw backendError(`SetUnitProperties ${userSliceName(uid)}`, e);
    }
  }

  /** systemd removes a slice itself when its last unit is gone. */
  async release(): Promise<boolean> {
    return false;
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
    for (const rule of rules) await this.client.call({ ...DBUS, member: 'AddMatch', signature: 's', body: [rule] });
    await this.subscribe().catch((e: unknown) => {
      this.log.warn(`systemd Subscribe failed: ${(e as Error).message}; new slices are caught by Reconcile only`);
    });
  }

  /**
   * Moves `pid` into user-UID.slice the way logind places a session: StartTransientUnit of a scope
   * with PIDs=[pid] and Slice=user-UID.slice, mode "fail". Resolves once systemd reports the job
   * done (JobRemoved from systemd's own bus name, never from anyone else) and GetUnitByPID, which
   * systemd answers from the PID's cgroup, names the new scope. Bounded: opts.jobTimeoutMs.
   */
  async placeProcess(uid: number, pid: number): Promise<'placed'> {
    const slice = userSliceName(uid);
    try {
      await this.watchJobs();
      // Who systemd is on the bus now (any local user may send us a JobRemoved signal).
      [this.systemdName] = (await this.client.call({ ...DBUS, member: 'GetNameOwner', signature: 's', body: [SYSTEMD] })) as [string];
      let unit = scopeUnitName(uid, pid);
      let job: string;
      try {
        job = await this.startScope(unit, slice, pid);
      } catch (e) {
        if (!(e instanceof RemoteError && e.remoteName === 'org.freedesktop.systemd1.UnitExists')) throw e;
        unit = scopeUnitName(uid, pid, Date.now().toString(36)); // a scope of an earlier process with this PID is still loaded
        job = await this.startScope(unit, slice, pid);
      }
      const result = await this.jobResult(job, unit);
      if (result !== 'done') throw new Error(`job for ${unit} finished with result "${result}"`);
      const [holder] = (await this.client.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'GetUnitByPID', signature: 'u', body: [pid] })) as [string];
      if (holder !== unitObjectPath(unit)) throw new Error(`systemd places PID ${pid} in ${holder}, not in ${unit}`);
      return 'placed';
    } catch (e) {
      throw backendError(`moving PID ${pid} into ${slice}`, e);
    }
  }

  private async startScope(unit: string, slice: string, pid: number): Promise<string> {
    if (!isValidScopeName(unit)) throw new Error(`"${unit}" is not a valid unit name`);
    const props = [
      ['Description', new Variant('s', `diycloud: login process ${pid} held to ${slice}`)],
      ['Slice', new Variant('s', slice)],
      ['PIDs', new Variant('au', [pid])],
      ['CollectMode', new Variant('s', 'inactive-or-failed')],
    ];
    const [job] = (await this.client.call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'StartTransientUnit', signature: 'ssa(sv)a(sa(sv))', body: [unit, 'fail', props, []] })) as [string];
    return job;
  }

  /** The result of `job` from systemd's JobRemoved signal (it may have come before the job path did). */
  private jobResult(job: string, unit: string): Promise<string> {
    const early = this.earlyJobs.get(job);
    this.earlyJobs.delete(job);
    if (early && early.unit === unit) return Promise.resolve(early.result);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.jobWaiters.delete(job);
        reject(new Error(`no JobRemoved for ${unit} within ${this.opts.jobTimeoutMs} ms`));
      }, this.opts.jobTimeoutMs);
      this.jobWaiters.set(job, (end) => {
        if (end.unit !== unit) return;
        clearTimeout(timer);
        this.jobWaiters.delete(job);
        resolve(end.result);
      });
    });
  }

  /** Listens for JobRemoved of our scopes (once per connection; retried after a failure). */
  private watchJobs(): Promise<void> {
    if (!this.listening) {
      this.listening = true;
      this.client.bus.on('message', (msg: Message) => {
        if (msg.type !== 4 /* SIGNAL */ || msg.member !== 'JobRemoved' || msg.path !== MANAGER_PATH || msg.interface !== MANAGER || msg.signature !== 'uoss') return;
        if (this.systemdName === null || msg.sender !== this.systemdName) return;
        const [, job, unit, result] = (msg.body ?? []) as [number, string, string, string];
        if (!String(unit).startsWith('diycloud-')) return;
        const end: JobEnd = { unit: String(unit), result: String(result) };
        const waiter = this.jobWaiters.get(String(job));
        if (waiter) return waiter(end);
        if (this.earlyJobs.size >= MAX_EARLY_JOBS) this.earlyJobs.delete(this.earlyJobs.keys().next().value as string);
        this.earlyJobs.set(String(job), end);
      });
    }
    this.jobWatch ??= (async () => {
      await this.client.call({ ...DBUS, member: 'AddMatch', signature: 's', body: [JOB_REMOVED_RULE] });
      // Subscribed or not, systemd sends JobRemoved to the client that queued the job; a failure is only logged.
      await this.subscribe().catch((e: unknown) => this.log.warn(`systemd Subscribe failed: ${(e as Error).message}`));
    })().catch((e: unknown) => {
      this.jobWatch = null;
      throw e;
    });
    return this.jobWatch;
  }

  /** systemd only emits unit and job signals while the client is subscribed; a second Subscribe is refused, so it is made once. */
  private subscribe(): Promise<void> {
    this.subscribed ??= this.client
      .call({ destination: SYSTEMD, path: MANAGER_PATH, interface: MANAGER, member: 'Subscribe' })
      .then(() => undefined)
      .catch((e: unknown) => {
        if (e instanceof RemoteError && e.remoteName === 'org.freedesktop.systemd1.AlreadySubscribed') return;
        this.subscribed = null;
        throw e;
      });
    return this.subscribed;
  }
}

/** systemd's unit object path (bus_label_escape: every byte outside [A-Za-z0-9] becomes _XX; a leading digit too). */
export function unitObjectPath(unit: string): string {
  return `${MANAGER_PATH}/unit/` + unit.replace(/[^A-Za-z0-9]|^[0-9]/g, (c) => '_' + c.charCodeAt(0).toString(16).padStart(2, '0'));
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
