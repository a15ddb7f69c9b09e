// The server side of the bus: one method handler that matches, decodes, identifies, authorizes, runs and replies.

import { Message, Variant, type MessageBus } from 'dbus-next';
import { DiycloudError } from '../../core/errors';
import type { Caller, Logger } from '../../core/ports';
import type { PriorityLane } from '../async/priority-lane';
import type { CallerResolver, Credentials } from './caller';
import { toErrorReply } from './error-reply';
import { JsonArray, sendJsonArrayReturn } from './json-array-reply';

export interface CallContext {
  /** The sender's credentials, and whether its message set ALLOW_INTERACTIVE_AUTHORIZATION. */
  readonly caller: Caller;
}

export interface MethodDef {
  readonly name: string;
  readonly inSig: string;
  readonly outSig: string;
  /**
   * "root": only uid 0 (checked on the bus credentials, in addition to the bus policy).
   * "caller": anyone the bus policy lets through; the use case authorizes (polkit, or own record).
   */
  readonly access: 'root' | 'caller';
  run(ctx: CallContext, body: unknown[]): Promise<unknown[]>;
}

export interface PropertyDef {
  readonly type: string;
  get(): unknown;
}

export interface ObjectDef {
  readonly path: string;
  readonly iface: string;
  readonly xml: string;
  readonly methods: readonly MethodDef[];
  readonly properties: Readonly<Record<string, PropertyDef>>;
}

/** How many calls may be in progress at once (docs/security.md, "Limits under load"). */
export interface CallLimits {
  /** From one connection of a non-root caller. */
  readonly perConnection: number;
  /** From all connections of one non-root uid together. */
  readonly perUid: number;
  /** From all non-root callers together. */
  readonly nonRoot: number;
  /** In all, root's included: a memory bound that non-root callers alone can never reach. */
  readonly total: number;
  /** From one connection whose identity is still being looked up (dbus-daemon itself allows 128). */
  readonly unidentifiedPerConnection: number;
}

export const CALL_LIMITS: CallLimits = { perConnection: 16, perUid: 32, nonRoot: 512, total: 2048, unidentifiedPerConnection: 128 };

const NO_REPLY_EXPECTED = 0x1;
/** No argument of ours is anywhere near this: a request this large is refused before any work. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** The payload size of a decoded body (strings by their UTF-8 length), stopping once over `limit`. */
export function bodySize(v: unknown, limit = MAX_REQUEST_BYTES): number {
  let total = 0;
  const walk = (x: unknown): void => {
    if (total > limit) return;
    if (typeof x === 'string') total += Buffer.byteLength(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object') {
      for (const [k, val] of Object.entries(x)) {
        total += k.length;
        walk(val);
      }
    } else total += 8;
  };
  walk(v);
  return total;
}
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const DBUS_ERR = 'org.freedesktop.DBus.Error.';

/**
 * Every call on our object goes through these steps, in this order:
 *  1. match path, interface, member and signature (unknown: the standard D-Bus errors);
 *  2. identify the caller from the bus (GetConnectionCredentials on msg.sender, cached per name);
 *  3. authorize (root-only methods: uid 0, else PermissionDenied; any error here means deny);
 *  4. admit: a non-root caller past its caps (CallLimits) gets Busy at once;
 *  5. run the use case, which validates its arguments into typed values; root's calls run in the
 *     PriorityLane, so the queues they meet downstream (bus calls, child programs) serve them first;
 *  6. reply, or map the error through the catalogue (no stack trace ever leaves).
 * So no number of unprivileged callers can make root's login-path calls wait for theirs.
 * Returns a handler for bus.addMethodHandler; it never throws (dbus-next would send e.stack).
 */
export function createRouter(opts: { bus: MessageBus; object: ObjectDef; callers: CallerResolver; log: Logger; lane: PriorityLane; limits?: CallLimits }): (msg: Message) => boolean {
  const { bus, object, callers, log, lane } = opts;
  const limits = opts.limits ?? CALL_LIMITS;
  const methods = new Map(object.methods.map((m) => [m.name, m]));
  let total = 0;
  let nonRoot = 0;
  const bySender = new Map<string, number>();
  const byUid = new Map<number, number>();
  const unidentified = new Map<string, number>();
  const inc = <K>(m: Map<K, number>, k: K): void => void m.set(k, (m.get(k) ?? 0) + 1);
  const dec = <K>(m: Map<K, number>, k: K): void => {
    const n = (m.get(k) ?? 1) - 1;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
  };
  const busy = (what: string): DiycloudError => new DiycloudError('Busy', `too many calls in progress ${what}; retry later`);
  /** Which cap a non-root caller is at ("on this connection …"), or null when it may start a call. */
  const overCap = (c: Credentials): string | null =>
    (bySender.get(c.busName) ?? 0) >= limits.perConnection ? `on this connection (at most ${limits.perConnection})`
      : (byUid.get(c.uid) ?? 0) >= limits.perUid ? `for uid ${c.uid} (at most ${limits.perUid})`
        : nonRoot >= limits.nonRoot ? 'from unprivileged callers' : null;
  /** Takes a slot for a non-root caller, or throws Busy. */
  const admit = (c: Credentials): void => {
    const cap = overCap(c);
    if (cap) throw busy(cap);
    inc(bySender, c.busName);
    inc(byUid, c.uid);
    nonRoot++;
  };
  const release = (c: Credentials): void => {
    dec(bySender, c.busName);
    dec(byUid, c.uid);
    nonRoot--;
  };
  const identify = async (sender: string | undefined): Promise<Credentials> => {
    const hit = callers.cached(sender);
    if (hit) return hit;
    const key = String(sender);
    if ((unidentified.get(key) ?? 0) >= limits.unidentifiedPerConnection) throw busy('on this connection');
    inc(unidentified, key);
    try {
      return await callers.resolve(sender);
    } catch (e) {
      throw new DiycloudError('PermissionDenied', 'could not identify the caller', { cause: e });
    } finally {
      dec(unidentified, key);
    }
  };

  const reply = (msg: Message, sig: string, body: unknown[]): void => {
    if (msg.flags & NO_REPLY_EXPECTED) return;
    // A JSON array (ListUsers: megabytes) is marshalled element by element into one buffer, where the socket allows.
    if (sig === 's' && body.length === 1 && body[0] instanceof JsonArray) {
      if (sendJsonArrayReturn(bus, msg, body[0])) return;
      body = [body[0].text()];
    }
    bus.send(Message.newMethodReturn(msg, sig, body));
  };
  const fail = (msg: Message, name: string, text: string): void => {
    if (!(msg.flags & NO_REPLY_EXPECTED)) bus.send(Message.newError(msg as unknown as string, name, text)); // types.d.ts is wrong: it takes the Message
  };

  const handleProperties = (msg: Message): void => {
    const sig = msg.signature ?? '';
    const [iface, name] = (msg.body ?? []) as string[];
    if (msg.member === 'Set' && sig === 'ssv') return fail(msg, DBUS_ERR + 'PropertyReadOnly', 'all properties are read-only');
    if (msg.member === 'GetAll' && sig === 's') {
      const all: Record<string, Variant> = {};
      if (iface === object.iface || iface === '') for (const [k, p] of Object.entries(object.properties)) all[k] = new Variant(p.type, p.get());
      return reply(msg, 'a{sv}', [all]);
    }
    if (msg.member === 'Get' && sig === 'ss') {
      // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
      const p = (iface === object.iface || iface === '') && Object.prototype.hasOwnProperty.call(object.properties, name) ? object.properties[name] : undefined;
      if (!p) return fail(msg, DBUS_ERR + 'UnknownProperty', `no property ${String(name)} on ${String(iface)}`);
      return reply(msg, 'v', [new Variant(p.type, p.get())]);
    }
    fail(msg, DBUS_ERR + 'UnknownMethod', `no method ${String(msg.member)}(${sig}) on org.freedesktop.DBus.Properties`);
  };

  const handleCall = async (msg: Message, m: MethodDef): Promise<void> => {
    const context = `${m.name} from ${msg.sender}`;
    let admitted: Credentials | null = null;
    try {
      const caller = await identify(msg.sender);
      if (m.access === 'root' && caller.uid !== 0) {
        throw new DiycloudError('PermissionDenied', `${m.name} may only be called by root`);
      }
      if (caller.uid !== 0) {
        admit(caller);
        admitted = caller;
      }
      const run = () => m.run({ caller: { ...caller, interactive: (msg.flags & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0 } }, msg.body ?? []);
      const out = caller.uid === 0 ? await lane.urgent(run) : await run();
      reply(msg, m.outSig, out);
    } catch (e) {
      const r = toErrorReply(e, log, context);
      fail(msg, r.name, r.message);
    } finally {
      if (admitted) release(admitted);
    }
  };

  return (msg: Message): boolean => {
    try {
      if (msg.path !== object.path) return introspectParent(msg);
      if (msg.interface === 'org.freedesktop.DBus.Introspectable' && msg.member === 'Introspect') {
        reply(msg, 's', [object.xml]);
        return true;
      }
      if (msg.interface === 'org.freedesktop.DBus.Properties') {
        handleProperties(msg);
        return true;
      }
      if (msg.interface === 'org.freedesktop.DBus.Peer') return false; // dbus-next answers Ping
      const m = msg.interface === object.iface || msg.interface === undefined ? methods.get(msg.member ?? '') : undefined;
      if (!m) {
        fail(msg, DBUS_ERR + 'UnknownMethod', `no method ${String(msg.member)} on interface ${String(msg.interface)}`);
        return true;
      }
      if ((msg.signature ?? '') !== m.inSig) {
        fail(msg, DBUS_ERR + 'InvalidArgs', `${m.name} takes (${m.inSig}), got (${msg.signature ?? ''})`);
        return true;
      }
      if (bodySize(msg.body) > MAX_REQUEST_BYTES) {
        fail(msg, 'org.diycloud.Manager1.Error.InvalidArgument', `request too large (more than ${MAX_REQUEST_BYTES} bytes of arguments)`);
        return true;
      }
      if (total >= limits.total) {
        fail(msg, 'org.diycloud.Manager1.Error.Busy', 'too many calls in progress; retry later');
        return true;
      }
      // The common case under a flood, refused without a promise: a known non-root caller past its caps.
      const known = callers.cached(msg.sender);
      const cap = known && known.uid !== 0 && m.access === 'caller' ? overCap(known) : null;
      if (cap) {
        fail(msg, 'org.diycloud.Manager1.Error.Busy', `too many calls in progress ${cap}; retry later`);
        return true;
      }
      total++;
      void handleCall(msg, m).finally(() => total--);
      return true;
    } catch (e) {
      log.error(`dispatch of ${String(msg.member)} failed: ${(e as Error).stack ?? String(e)}`);
      fail(msg, 'org.diycloud.Manager1.Error.Failed', 'internal error; see the journal of diycloudd');
      return true;
    }
  };

  /** Introspection of the path's ancestors, so tools can walk from "/" to our object. */
  function introspectParent(msg: Message): boolean {
    const path = msg.path ?? '';
    const prefix = path === '/' ? '/' : path + '/';
    if (msg.interface !== 'org.freedesktop.DBus.Introspectable' || msg.member !== 'Introspect' || !object.path.startsWith(prefix)) return false;
    const child = object.path.slice(prefix.length).split('/')[0];
    reply(msg, 's', [`<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n<node>\n  <node name="${child}"/>\n</node>\n`]);
    return true;
  }
}
