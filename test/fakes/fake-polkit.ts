// A fake org.freedesktop.PolicyKit1 for the integration bus; it passes the same contract as real polkitd.
//
// It decides the way polkitd does for callers outside any logind session, from the files diycloud ships:
// uid 0 is always authorized; then the JavaScript rules of polkit/*.rules run (in a vm context, with a
// polkit.Subject whose groups come from the table given to the fake); then the action's allow_any default
// from polkit/org.diycloud.policy applies (no session, so never allow_inactive or allow_active).

import * as dbus from 'dbus-next';
import { Message, Variant } from 'dbus-next';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';

const AUTHORITY_PATH = '/org/freedesktop/PolicyKit1/Authority';
const AUTHORITY = 'org.freedesktop.PolicyKit1.Authority';
const ERR = 'org.freedesktop.PolicyKit1.Error.';
const POLKIT_DIR = resolve(__dirname, '..', '..', 'polkit');

/** The role → Unix group mapping of schema/002-roles.sql: what 50-diycloud.rules looks at. */
const ROLE_GROUP = { admin: 'diycloud-admin', operator: 'diycloud-operator' } as const;
export type FakeRole = keyof typeof ROLE_GROUP;

const IMPLICIT: Record<string, number> = { no: 0, auth_self: 1, auth_admin: 2, auth_self_keep: 3, auth_admin_keep: 4, yes: 5 };

interface ActionDef {
  id: string;
  description: string;
  message: string;
  vendor: string;
  vendorUrl: string;
  icon: string;
  defaults: { any: string; inactive: string; active: string };
}

const text = (xml: string, tag: string): string => (new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1] ?? '').trim();

/** The actions of every polkit/*.policy file (the few elements diycloud uses; no xml:lang variants). */
export function loadActions(dir = POLKIT_DIR): ActionDef[] {
  const out: ActionDef[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.policy'))) {
    const xml = readFileSync(join(dir, f), 'utf8').replace(/<!--[\s\S]*?-->/g, '');
    const vendor = text(xml.replace(/<action[\s\S]*<\/action>/, ''), 'vendor');
    const vendorUrl = text(xml.replace(/<action[\s\S]*<\/action>/, ''), 'vendor_url');
    for (const m of xml.matchAll(/<action id="([^"]+)">([\s\S]*?)<\/action>/g)) {
      const body = m[2];
      out.push({
        id: m[1],
        description: text(body, 'description'),
        message: text(body, 'message'),
        vendor,
        vendorUrl,
        icon: text(body, 'icon_name'),
        defaults: { any: text(body, 'allow_any') || 'no', inactive: text(body, 'allow_inactive') || 'no', active: text(body, 'allow_active') || 'no' },
      });
    }
  }
  return out;
}

type Rule = (action: { id: string; lookup(k: string): string | undefined }, subject: Record<string, unknown>) => unknown;

/** Runs every polkit/*.rules file, in name order as polkitd does, against a minimal `polkit` object. */
export function loadRules(dir = POLKIT_DIR): Rule[] {
  const rules: Rule[] = [];
  const polkit = {
    Result: { NO: 'no', YES: 'yes', AUTH_SELF: 'auth_self', AUTH_SELF_KEEP: 'auth_self_keep', AUTH_ADMIN: 'auth_admin', AUTH_ADMIN_KEEP: 'auth_admin_keep', NOT_HANDLED: null },
    addRule: (f: Rule) => rules.push(f),
    addAdminRule: () => undefined,
    log: () => undefined,
  };
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.rules')).sort()) {
    runInNewContext(readFileSync(join(dir, f), 'utf8'), { polkit }, { filename: f });
  }
  return rules;
}

export interface FakePolkit {
  /** Every CheckAuthorization: the subject's uid, the action, the details and the flags. */
  readonly calls: { uid: number; action: string; details: Record<string, string>; flags: number; result: [boolean, boolean] }[];
  /** Puts a uid into a role's group (or takes it out with null), as gpasswd would. */
  setRole(uid: number, role: FakeRole | null): void;
  close(): void;
}

/** Starts the fake on `address`; `roles` says which uids are in diycloud-admin or diycloud-operator. */
export async function startFakePolkit(address: string, roles: Record<number, FakeRole> = {}, opts: { interactiveDelayMs?: number; checkDelayMs?: number } = {}): Promise<FakePolkit> {
  const bus = dbus.sessionBus({ busAddress: address });
  bus.on('error', () => undefined);
  const actions = new Map(loadActions().map((a) => [a.id, a]));
  const rules = loadRules();
  const table = new Map<number, FakeRole>(Object.entries(roles).map(([k, v]) => [Number(k), v]));
  const calls: FakePolkit['calls'] = [];

  const unixUser = async (name: string): Promise<number> => {
    const reply = await bus.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetConnectionUnixUser', signature: 's', body: [name] }));
    return reply!.body[0] as number;
  };
  const err = (msg: Message, name: string, message: string): void => bus.send(Message.newError(msg as unknown as string, name, message));

  const decide = (uid: number, actionId: string, details: Record<string, string>): [boolean, boolean] => {
    if (uid === 0) return [true, false]; // polkitd: uid 0 is authorized for anything
    const action = actions.get(actionId)!;
    const role = table.get(uid);
    const groups = role ? [ROLE_GROUP[role]] : [];
    const subject = { user: `uid${uid}`, groups, pid: 0, session: '', local: false, active: false, system_unit: '', isInGroup: (g: string) => groups.includes(g), isInNetGroup: () => false };
    const act = { id: actionId, lookup: (k: string) => details[k] };
    let result: string | undefined;
    for (const r of rules) {
      const v = r(act, subject);
      if (typeof v === 'string') {
        result = v;
        break;
      }
    }
    result ??= action.defaults.any; // outside any session: allow_any
    if (result === 'yes') return [true, false];
    if (result === 'no') return [false, false];
    return [false, true]; // auth_*: a challenge
  };

  const checkAuthorization = async (msg: Message): Promise<void> => {
    const [[kind, subj], actionId, details, flags] = msg.body as [[string, Record<string, Variant>], string, Record<string, string>, number, string];
    let subjectUid: number;
    if (kind === 'unix-process') {
      // As polkitd: the process must exist with that start time; the uid given is the subject's (only uid 0 may name another's).
      const pid = Number(subj.pid?.value);
      const start = subj['start-time']?.value;
      const uid = subj.uid?.value;
      let stat = '';
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        return err(msg, ERR + 'Failed', `Process with pid ${pid} does not exist`);
      }
      if (String(start) !== stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) return err(msg, ERR + 'Failed', `Process with pid ${pid} has a different start time`);
      if (typeof uid !== 'number' || uid < 0) return err(msg, ERR + 'Failed', 'unix-process subject without uid (the fake needs one)');
      subjectUid = uid;
    } else if (kind !== 'system-bus-name' || typeof subj.name?.value !== 'string') {
      return err(msg, ERR + 'Failed', `unsupported subject kind ${kind} (the fake knows system-bus-name and unix-process)`);
    } else try {
      subjectUid = await unixUser(subj.name.value as string);
    } catch {
      // polkitd 122 (bookworm) passes the bus's error on inside its own; 126 (trixie) says "credentials" for "UID"
      return err(msg, ERR + 'Failed', `GDBus.Error:org.freedesktop.DBus.Error.NameHasNoOwner: Could not get UID of name '${String(subj.name.value)}': no such name`);
    }
    const callerUid = await unixUser(msg.sender!);
    const hasDetails = Object.keys(details).length > 0;
    if (callerUid !== 0 && (callerUid !== subjectUid || hasDetails)) {
      return err(msg, ERR + 'NotAuthorized', hasDetails
        ? 'Only trusted callers (e.g. uid 0 or an action owner) can use CheckAuthorization() and pass details'
        : 'Only trusted callers (e.g. uid 0 or an action owner) can use CheckAuthorization() for subjects belonging to other identities');
    }
    if (!actions.has(actionId)) return err(msg, ERR + 'Failed', `Action ${actionId} is not registered`);
    const result = decide(subjectUid, actionId, details);
    // An interactive check is a person typing a password: it takes a while.
    if (flags & 1 && opts.interactiveDelayMs) await new Promise((r) => setTimeout(r, opts.interactiveDelayMs));
    // A loaded polkitd (its rules run in a JS engine) answers each check only after a while.
    else if (opts.checkDelayMs) await new Promise((r) => setTimeout(r, opts.checkDelayMs));
    calls.push({ uid: subjectUid, action: actionId, details, flags, result });
    // polkitd answers uid 0 before it looks at anything else (no details); otherwise it returns the details it got
    bus.send(Message.newMethodReturn(msg, '(bba{ss})', [[result[0], result[1], subjectUid === 0 ? {} : details]]));
  };

  bus.addMethodHandler((msg: Message): boolean => {
    if (msg.path !== AUTHORITY_PATH || msg.interface !== AUTHORITY) return false;
    const sig = `${msg.member}(${msg.signature ?? ''})`;
    if (sig === 'CheckAuthorization((sa{sv})sa{ss}us)') {
      checkAuthorization(msg).catch((e: Error) => err(msg, ERR + 'Failed', e.message));
      return true;
    }
    if (sig === 'EnumerateActions(s)') {
      const rows = [...actions.values()].map((a) => [a.id, a.description, a.message, a.vendor, a.vendorUrl, a.icon,
        IMPLICIT[a.defaults.any], IMPLICIT[a.defaults.inactive], IMPLICIT[a.defaults.active], {}]);
      bus.send(Message.newMethodReturn(msg, 'a(ssssssuuua{ss})', [rows]));
      return true;
    }
    err(msg, 'org.freedesktop.DBus.Error.UnknownMethod', `Unknown method ${String(msg.member)} (the fake implements CheckAuthorization and EnumerateActions)`);
    return true;
  });
  await bus.requestName('org.freedesktop.PolicyKit1', dbus.NameFlag.DO_NOT_QUEUE);

  return {
    calls,
    setRole(uid, role) {
      if (role) table.set(uid, role);
      else table.delete(uid);
    },
    close: () => bus.disconnect(),
  };
}
