// A fake org.freedesktop.systemd1 for the integration bus; it passes the same contract as real systemd.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as dbus from 'dbus-next';
import { Message, Variant } from 'dbus-next';

const MANAGER = 'org.freedesktop.systemd1.Manager';
const ROOT = '/org/freedesktop/systemd1';
const U64_MAX = 0xffffffffffffffffn;
/** The subset of slice properties diycloud sets and reads, with systemd's defaults. */
const SETTABLE = ['CPUQuotaPerSecUSec', 'MemoryMax', 'MemoryHigh', 'TasksMax'] as const;

interface FakeUnit {
  props: Record<string, bigint>;
}

/** A transient scope or service made by StartTransientUnit. */
export interface FakeTransient {
  readonly unit: string;
  readonly slice: string;
  /** A scope's PIDs (as asked), or a service's main PID. */
  readonly pids: number[];
  readonly props: Record<string, unknown>;
  child?: ChildProcess;
}

const alive = (pid: number): boolean => Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`);
/** The cgroup path systemd would give a unit in `slice` (slice names are hierarchical: user-1000.slice is in user.slice). */
const cgroupOf = (slice: string, unit: string): string => {
  const parts = slice.replace(/\.slice$/, '').split('-');
  return '/' + parts.map((_, i) => parts.slice(0, i + 1).join('-') + '.slice').join('/') + '/' + unit;
};

/** systemd's object-path escaping (bus_label_escape): every byte outside [A-Za-z0-9] becomes _XX. */
export function unitPath(name: string): string {
  return `${ROOT}/unit/` + name.replace(/[^A-Za-z0-9]/g, (c) => '_' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export interface FakeSystemd {
  /** Every SetUnitProperties call, in order. */
  readonly calls: { unit: string; runtime: boolean; props: Record<string, bigint> }[];
  /** Creates a loaded user slice and emits UnitNew, as systemd does when a slice appears. */
  addSlice(uid: number, memoryCurrent?: bigint): void;
  setMemoryCurrent(uid: number, bytes: bigint): void;
  props(uid: number): Record<string, bigint> | undefined;
  /** Makes the next `n` SetUnitProperties calls fail (backend failure injection). */
  failNextSets(n: number): void;
  /** Every StartTransientUnit that succeeded, in order (scopes with their PIDs, services with their main PID). */
  readonly transients: FakeTransient[];
  /** Makes the next `n` transient-unit jobs end with this result instead of "done". */
  failNextJobs(n: number, result?: string): void;
  /** While held, job ends (JobRemoved) wait for releaseJobs(). */
  holdJobs(): void;
  releaseJobs(): void;
  /** Job paths queued so far. */
  readonly jobs: string[];
  /** "start UNIT" (StartTransientUnit) and "set UNIT" (SetUnitProperties) in the order they happened. */
  readonly order: string[];
  close(): void;
}

export async function startFakeSystemd(address: string): Promise<FakeSystemd> {
  const bus = dbus.sessionBus({ busAddress: address });
  bus.on('error', () => undefined);
  const units = new Map<string, FakeUnit>();
  const calls: FakeSystemd['calls'] = [];
  let failSets = 0;
  const transients: FakeTransient[] = [];
  const live = new Map<string, FakeTransient>();
  const subscribers = new Set<string>();
  const jobs: string[] = [];
  const order: string[] = [];
  let failJobs = 0;
  let failResult = 'failed';
  let held: (() => void)[] | null = null;
  const newUnit = (): FakeUnit => ({ props: { CPUQuotaPerSecUSec: U64_MAX, MemoryMax: U64_MAX, MemoryHigh: U64_MAX, TasksMax: U64_MAX, MemoryCurrent: U64_MAX, CPUUsageNSec: U64_MAX, TasksCurrent: U64_MAX } });
  const emitUnitNew = (name: string): void => bus.send(Message.newSignal(ROOT, MANAGER, 'UnitNew', 'so', [name, unitPath(name)]));
  const err = (msg: Message, name: string, text: string): boolean => {
    bus.send(Message.newError(msg as unknown as string, name, text));
    return true;
  };
  const ok = (msg: Message, sig = '', body: unknown[] = []): boolean => {
    bus.send(Message.newMethodReturn(msg, sig, body));
    return true;
  };
  /** Queues a job for `unit`: the reply carries its path, JobRemoved follows (as systemd's job queue runs later). */
  const job = (msg: Message, unit: string, result = 'done'): boolean => {
    const id = jobs.length + 1;
    const path = `${ROOT}/job/${id}`;
    jobs.push(path);
    ok(msg, 'o', [path]);
    const end = () => bus.send(Message.newSignal(ROOT, MANAGER, 'JobRemoved', 'uoss', [id, path, unit, result]));
    if (held) held.push(end);
    else setImmediate(end);
    return true;
  };
  const startTransient = (msg: Message, name: string, props: Record<string, Variant>): boolean => {
    if (units.has(name) || live.has(name)) return err(msg, 'org.freedesktop.systemd1.UnitExists', `Unit ${name} was already loaded or has a fragment file.`);
    const slice = String(props.Slice?.value ?? 'system.slice');
    let pids: number[];
    let child: ChildProcess | undefined;
    if (name.endsWith('.scope')) {
      pids = ((props.PIDs?.value ?? []) as number[]).map(Number);
      if (pids.length === 0) return err(msg, 'org.freedesktop.DBus.Error.InvalidArgs', 'No PIDs to put in the scope.');
      const dead = pids.find((p) => !alive(p));
      if (dead !== undefined) return err(msg, 'org.freedesktop.DBus.Error.UnixProcessIdUnknown', `Process with ID ${dead} does not exist.`);
    } else if (name.endsWith('.service') && props.ExecStart) {
      const [[path, argv]] = props.ExecStart.value as [string, string[], boolean][];
      child = spawn(path, argv.slice(1), { argv0: argv[0], stdio: 'ignore', detached: true });
      child.on('error', () => undefined);
      pids = [child.pid ?? 0];
    } else {
      return err(msg, 'org.freedesktop.DBus.Error.NotSupported', `The fake makes only scopes and ExecStart services, not ${name}.`);
    }
    const t: FakeTransient = { unit: name, slice, pids, props: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.value])), child };
    if (/^user-[0-9]+\.slice$/.test(slice) && !units.has(slice)) {
      units.set(slice, newUnit()); // systemd loads the slice the scope names
      emitUnitNew(slice);
    }
    transients.push(t);
    order.push(`start ${name}`);
    live.set(name, t);
    if (failJobs > 0) {
      failJobs--;
      live.delete(name);
      return job(msg, name, failResult);
    }
    return job(msg, name);
  };
  const stopTransient = (t: FakeTransient): void => {
    live.delete(t.unit);
    for (const pid of t.pids) if (alive(pid)) try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  };

  bus.addMethodHandler((msg: Message): boolean => {
    const body = (msg.body ?? []) as unknown[];
    if (msg.path === ROOT && msg.interface === MANAGER) {
      switch (`${msg.member}(${msg.signature ?? ''})`) {
        case 'Subscribe()':
          if (subscribers.has(String(msg.sender))) return err(msg, 'org.freedesktop.systemd1.AlreadySubscribed', 'Client is already subscribed.');
          subscribers.add(String(msg.sender));
          return ok(msg);
        case 'GetUnit(s)': {
          const name = String(body[0]);
          return units.has(name) || live.has(name) ? ok(msg, 'o', [unitPath(name)]) : err(msg, 'org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
        }
        case 'StartTransientUnit(ssa(sv)a(sa(sv)))': {
          const [name, , props] = body as [string, string, [string, Variant][]];
          return startTransient(msg, name, Object.fromEntries(props));
        }
        case 'StopUnit(ss)': {
          const t = live.get(String(body[0]));
          if (!t) return err(msg, 'org.freedesktop.systemd1.NoSuchUnit', `Unit ${String(body[0])} not loaded.`);
          stopTransient(t);
          return job(msg, t.unit);
        }
        case 'GetUnitByPID(u)': {
          const pid = Number(body[0]);
          const t = [...live.values()].reverse().find((u) => u.pids.includes(pid) && alive(pid));
          return t ? ok(msg, 'o', [unitPath(t.unit)]) : err(msg, 'org.freedesktop.systemd1.NoUnitForPID', `PID ${pid} does not belong to any loaded unit.`);
        }
        case 'ListUnitsByPatterns(asas)': {
          const pats = (body[1] as string[]).map((p) => new RegExp('^' + p.replace(/[.]/g, '\\.').replace(/\*/g, '.*') + '$'));
          const rows = [...units.keys()]
            .filter((n) => pats.length === 0 || pats.some((r) => r.test(n)))
            .map((n) => [n, 'User Slice', 'loaded', 'active', 'active', '', unitPath(n), 0, '', '/']);
          return ok(msg, 'a(ssssssouso)', [rows]);
        }
        case 'SetUnitProperties(sba(sv))': {
          const [name, runtime, props] = body as [string, boolean, [string, Variant][]];
          if (failSets > 0) {
            failSets--;
            return err(msg, 'org.freedesktop.DBus.Error.Failed', 'injected failure');
          }
          const parsed: Record<string, bigint> = {};
          for (const [k, v] of props) {
            if (!(SETTABLE as readonly string[]).includes(k) || v.signature !== 't') {
              return err(msg, 'org.freedesktop.DBus.Error.InvalidArgs', `Cannot set property ${k}, or unknown property.`);
            }
            parsed[k] = v.value as bigint;
          }
          let u = units.get(name);
          if (!u) {
            u = newUnit();
            units.set(name, u);
            emitUnitNew(name);
          }
          Object.assign(u.props, parsed);
          calls.push({ unit: name, runtime, props: parsed });
          order.push(`set ${name}`);
          return ok(msg);
        }
        default:
          return err(msg, 'org.freedesktop.DBus.Error.UnknownMethod', `Unknown method ${msg.member} or interface ${msg.interface}.`);
      }
    }
    if (msg.path?.startsWith(`${ROOT}/unit/`) && msg.interface === 'org.freedesktop.DBus.Properties' && msg.member === 'GetAll') {
      // Like systemd: GetAll of a slice's Slice interface gives every property at once.
      const u = [...units.entries()].find(([n]) => unitPath(n) === msg.path)?.[1];
      if (!u) return err(msg, 'org.freedesktop.DBus.Error.UnknownObject', `Unknown object '${msg.path}'.`);
      if ((body as [string])[0] !== 'org.freedesktop.systemd1.Slice') return ok(msg, 'a{sv}', [{}]);
      return ok(msg, 'a{sv}', [Object.fromEntries(Object.entries(u.props).map(([k, v]) => [k, new Variant('t', v)]))]);
    }
    if (msg.path?.startsWith(`${ROOT}/unit/`) && msg.interface === 'org.freedesktop.DBus.Properties' && msg.member === 'Get') {
      const t = [...live.values()].find((x) => unitPath(x.unit) === msg.path);
      if (t) {
        const [iface, prop] = body as [string, string];
        const kind = t.unit.endsWith('.scope') ? 'Scope' : 'Service';
        if (iface === `org.freedesktop.systemd1.${kind}` && prop === 'ControlGroup') return ok(msg, 'v', [new Variant('s', cgroupOf(t.slice, t.unit))]);
        if (iface === 'org.freedesktop.systemd1.Service' && kind === 'Service' && prop === 'MainPID') return ok(msg, 'v', [new Variant('u', alive(t.pids[0]) ? t.pids[0] : 0)]);
        return err(msg, 'org.freedesktop.DBus.Error.UnknownProperty', `Unknown interface ${iface} or property ${prop}.`);
      }
      const u = [...units.entries()].find(([n]) => unitPath(n) === msg.path)?.[1];
      if (!u) return err(msg, 'org.freedesktop.DBus.Error.UnknownObject', `Unknown object '${msg.path}'.`);
      const [iface, prop] = body as [string, string];
      if (iface !== 'org.freedesktop.systemd1.Slice' || !(prop in u.props)) {
        return err(msg, 'org.freedesktop.DBus.Error.UnknownProperty', `Unknown interface ${iface} or property ${prop}.`);
      }
      return ok(msg, 'v', [new Variant('t', u.props[prop])]);
    }
    return false;
  });
  await bus.requestName('org.freedesktop.systemd1', dbus.NameFlag.DO_NOT_QUEUE);

  return {
    calls,
    addSlice(uid, memoryCurrent = U64_MAX) {
      const name = `user-${uid}.slice`;
      const u = units.get(name) ?? newUnit();
      u.props.MemoryCurrent = memoryCurrent;
      const isNew = !units.has(name);
      units.set(name, u);
      if (isNew) emitUnitNew(name);
    },
    setMemoryCurrent(uid, bytes) {
      const u = units.get(`user-${uid}.slice`);
      if (u) u.props.MemoryCurrent = bytes;
    },
    props: (uid) => units.get(`user-${uid}.slice`)?.props,
    failNextSets(n) {
      failSets = n;
    },
    transients,
    failNextJobs(n, result = 'failed') {
      failJobs = n;
      failResult = result;
    },
    holdJobs() {
      held ??= [];
    },
    releaseJobs() {
      const ends = held ?? [];
      held = null;
      for (const end of ends) end();
    },
    jobs,
    order,
    close: () => {
      for (const t of live.values()) if (t.child) stopTransient(t); // services it started; never a scope's borrowed PIDs
      bus.disconnect();
    },
  };
}
