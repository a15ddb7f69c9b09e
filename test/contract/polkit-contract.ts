// The polkit contract: what diycloud relies on from org.freedesktop.PolicyKit1 with polkit/org.diycloud.policy
// and polkit/50-diycloud.rules installed, run against real polkitd (container e2e) and the fake (integration).
//
// diycloudd (root) asks about its caller's unique bus name. The contract does the same: a process runs as the
// caller, connects to the bus and stays there (polkit-subject.js), and root asks CheckAuthorization about that
// connection's unique name. None of these callers is in a logind session, as in the test environments.

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The callers: root, a user in no diycloud group, a member of diycloud-operator, a member of diycloud-admin. */
export type Who = 'root' | 'plain' | 'operator' | 'admin';
export const WHO: readonly Who[] = ['root', 'plain', 'operator', 'admin'];

export interface Subject {
  /** The unique bus name of a connection made by `who`, kept open until close(). */
  readonly busName: string;
  close(): Promise<void>;
}

export interface PolkitContractContext {
  /** `busctl ARGS` on the bus polkit is on, as root or (with `as`) as that caller. */
  busctl(args: string[], opts?: { as?: Who }): Promise<RunResult>;
  /** Starts a process as `who` that connects to the bus and stays connected (polkit-subject.js). */
  connectAs(who: Who): Promise<Subject>;
}

export const POLKIT_ACTIONS = ['org.diycloud.manage-users', 'org.diycloud.manage-limits', 'org.diycloud.set-enabled', 'org.diycloud.read-users'] as const;
export type PolkitAction = (typeof POLKIT_ACTIONS)[number];

/** [is_authorized, is_challenge] for each caller and action, outside any logind session, without interaction. */
export const EXPECTED: Record<Who, Record<PolkitAction, [boolean, boolean]>> = {
  // polkit itself always authorizes uid 0 (diycloudd never asks about root; recorded for completeness)
  root: { 'org.diycloud.manage-users': [true, false], 'org.diycloud.manage-limits': [true, false], 'org.diycloud.set-enabled': [true, false], 'org.diycloud.read-users': [true, false] },
  // no session: allow_any (no) applies, so auth_admin gives "not authorized" and no challenge
  plain: { 'org.diycloud.manage-users': [false, false], 'org.diycloud.manage-limits': [false, false], 'org.diycloud.set-enabled': [false, false], 'org.diycloud.read-users': [false, false] },
  operator: { 'org.diycloud.manage-users': [false, false], 'org.diycloud.manage-limits': [true, false], 'org.diycloud.set-enabled': [true, false], 'org.diycloud.read-users': [true, false] },
  admin: { 'org.diycloud.manage-users': [true, false], 'org.diycloud.manage-limits': [true, false], 'org.diycloud.set-enabled': [true, false], 'org.diycloud.read-users': [true, false] },
};

/** polkit's PolkitImplicitAuthorization values as EnumerateActions reports them. */
export const IMPLICIT = { no: 0, auth_self: 1, auth_admin: 2, auth_self_keep: 3, auth_admin_keep: 4, yes: 5 } as const;

/** The defaults of polkit/org.diycloud.policy: [allow_any, allow_inactive, allow_active]. */
export const DEFAULTS: Record<PolkitAction, [number, number, number]> = {
  'org.diycloud.manage-users': [IMPLICIT.no, IMPLICIT.no, IMPLICIT.auth_admin],
  'org.diycloud.manage-limits': [IMPLICIT.no, IMPLICIT.no, IMPLICIT.auth_admin],
  'org.diycloud.set-enabled': [IMPLICIT.no, IMPLICIT.no, IMPLICIT.auth_admin],
  'org.diycloud.read-users': [IMPLICIT.no, IMPLICIT.no, IMPLICIT.auth_admin_keep],
};

const AUTHORITY = ['org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority', 'org.freedesktop.PolicyKit1.Authority'];
const ALLOW_USER_INTERACTION = 1;

function expect(cond: boolean, what: string, r?: RunResult): void {
  if (!cond) throw new Error(`contract violated: ${what}${r ? ` (exit ${r.code}, stdout ${r.stdout.trim()}, stderr ${r.stderr.trim()})` : ''}`);
}

/** The busctl arguments of CheckAuthorization exactly as PolkitAuthorizer sends it. */
export function checkArgs(busName: string, action: string, details: Record<string, string>, flags: number): string[] {
  const d = Object.entries(details).flat();
  return ['call', ...AUTHORITY, 'CheckAuthorization', '(sa{sv})sa{ss}us', 'system-bus-name', '1', 'name', 's', busName, action, String(Object.keys(details).length), ...d, String(flags), ''];
}

async function check(ctx: PolkitContractContext, busName: string, action: string, o: { details?: Record<string, string>; flags?: number; as?: Who } = {}): Promise<{ r: RunResult; result?: [boolean, boolean, Record<string, string>] }> {
  const r = await ctx.busctl(['--json=short', ...checkArgs(busName, action, o.details ?? { user: 'somebody' }, o.flags ?? 0)], { as: o.as });
  if (r.code !== 0) return { r };
  const j = JSON.parse(r.stdout) as { type: string; data: [[boolean, boolean, Record<string, string>]] };
  expect(j.type === '(bba{ss})', `CheckAuthorization returns (bba{ss}), got ${j.type}`, r);
  return { r, result: j.data[0] };
}

async function withSubject<T>(ctx: PolkitContractContext, who: Who, fn: (s: Subject) => Promise<T>): Promise<T> {
  const s = await ctx.connectAs(who);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

function matrixCase(who: Who) {
  return {
    name: `root asks about a ${who} caller's bus name: each diycloud action gives the policy's answer`,
    run: async (ctx: PolkitContractContext) =>
      withSubject(ctx, who, async (s) => {
        const wrong: string[] = [];
        for (const action of POLKIT_ACTIONS) {
          const { r, result } = await check(ctx, s.busName, action);
          expect(result !== undefined, `CheckAuthorization(${who}, ${action}) succeeds`, r);
          const [authorized, challenge] = result!;
          const [wa, wc] = EXPECTED[who][action];
          if (authorized !== wa || challenge !== wc) wrong.push(`${action}: got (${authorized}, ${challenge}), want (${wa}, ${wc})`);
        }
        expect(wrong.length === 0, `${who}: ${wrong.join('; ')}`);
      }),
  };
}

export const POLKIT_CONTRACT: { name: string; run: (ctx: PolkitContractContext) => Promise<void> }[] = [
  ...WHO.map(matrixCase),
  {
    name: 'allowing interaction changes nothing outside a session: plain is still refused without a challenge, admin allowed',
    run: async (ctx) => {
      for (const [who, want] of [['plain', [false, false]], ['operator', [false, false]], ['admin', [true, false]]] as const) {
        await withSubject(ctx, who, async (s) => {
          const { r, result } = await check(ctx, s.busName, 'org.diycloud.manage-users', { flags: ALLOW_USER_INTERACTION });
          expect(result !== undefined, `interactive CheckAuthorization(${who}) succeeds`, r);
          expect(result![0] === want[0] && result![1] === want[1], `interactive ${who}: got (${result![0]}, ${result![1]}), want (${want[0]}, ${want[1]})`, r);
        });
      }
    },
  },
  {
    name: 'an action the policy file does not declare is never authorized, not even for an admin (the rules alone are not enough)',
    run: async (ctx) =>
      withSubject(ctx, 'admin', async (s) => {
        const { r, result } = await check(ctx, s.busName, 'org.diycloud.no-such-action');
        expect(result === undefined || result[0] === false, 'an undeclared action is refused', r);
        if (result === undefined) expect(/not registered/.test(r.stderr), 'the error says the action is not registered', r);
      }),
  },
  {
    name: 'a non-root caller may not ask about another user\'s bus name (only root, like diycloudd, may)',
    run: async (ctx) =>
      withSubject(ctx, 'admin', async (s) => {
        const { r, result } = await check(ctx, s.busName, 'org.diycloud.read-users', { details: {}, as: 'plain' });
        expect(result === undefined && r.code !== 0, 'the check is refused', r);
        expect(/Only trusted callers/.test(r.stderr), 'with polkit\'s "Only trusted callers" error', r);
      }),
  },
  {
    name: 'a non-root caller may not pass details, even about itself',
    run: async (ctx) =>
      withSubject(ctx, 'plain', async (s) => {
        const { r, result } = await check(ctx, s.busName, 'org.diycloud.read-users', { details: { user: 'x' }, as: 'plain' });
        expect(result === undefined && r.code !== 0, 'the check is refused', r);
        expect(/Only trusted callers/.test(r.stderr), 'with polkit\'s "Only trusted callers" error', r);
      }),
  },
  {
    name: 'a bus name that is not connected is an error, never an authorization',
    run: async (ctx) => {
      const s = await ctx.connectAs('admin');
      const gone = s.busName;
      await s.close();
      const { r, result } = await check(ctx, gone, 'org.diycloud.read-users');
      expect(result === undefined && r.code !== 0, `asking about a departed subject (${gone}) fails`, r);
      expect(/no such name/.test(r.stderr), 'with the bus\'s "no such name"', r);
    },
  },
  {
    name: 'EnumerateActions lists the four diycloud actions with their description, message and defaults',
    run: async (ctx) => {
      const r = await ctx.busctl(['--json=short', 'call', ...AUTHORITY, 'EnumerateActions', 's', '']);
      expect(r.code === 0, 'EnumerateActions succeeds', r);
      const j = JSON.parse(r.stdout) as { type: string; data: [[string, string, string, string, string, string, number, number, number, Record<string, string>][]] };
      expect(j.type === 'a(ssssssuuua{ss})', `EnumerateActions returns a(ssssssuuua{ss}), got ${j.type}`);
      const ours = j.data[0].filter((a) => a[0].startsWith('org.diycloud.'));
      expect(ours.map((a) => a[0]).sort().join() === [...POLKIT_ACTIONS].sort().join(), `exactly the four actions, got ${ours.map((a) => a[0]).join(', ')}`);
      for (const [id, description, message, vendor, , , any, inactive, active] of ours) {
        expect(description.length > 0 && message.length > 0 && vendor === 'diycloud', `${id} has a description, a message and vendor diycloud`);
        const want = DEFAULTS[id as PolkitAction];
        expect(any === want[0] && inactive === want[1] && active === want[2], `${id} defaults (${any}, ${inactive}, ${active}), want (${want.join(', ')})`);
      }
    },
  },
];
