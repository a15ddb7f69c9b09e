// A fake org.freedesktop.systemd1 for the integration bus; it passes the same contract as real systemd.

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
  close(): void;
}

export async function startFakeSystemd(address: string): Promise<FakeSystemd> {
  const bus = dbus.sessionBus({ busAddress: address });
  bus.on('error', () => undefined);
  const units = new Map<string, FakeUnit>();
  const calls: FakeSystemd['calls'] = [];
  let failSets = 0;
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

  bus.addMethodHandler((msg: Message): boolean => {
    const body = (msg.body ?? []) as unknown[];
    if (msg.path === ROOT && msg.interface === MANAGER) {
      switch (`${msg.member}(${msg.signature ?? ''})`) {
        case 'Subscribe()':
          return ok(msg);
        case 'GetUnit(s)': {
          const name = String(body[0]);
          return units.has(name) ? ok(msg, 'o', [unitPath(name)]) : err(msg, 'org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
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
          return ok(msg);
        }
        default:
          return err(msg, 'org.freedesktop.DBus.Error.UnknownMethod', `Unknown method ${msg.member} or interface ${msg.interface}.`);
      }
    }
    if (msg.path?.startsWith(`${ROOT}/unit/`) && msg.interface === 'org.freedesktop.DBus.Properties' && msg.member === 'Get') {
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
    close: () => bus.disconnect(),
  };
}
