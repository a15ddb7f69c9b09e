// The systemd1 contract: what diycloud relies on from org.freedesktop.systemd1, run against real systemd and the fake.

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ContractContext {
  /** Runs `busctl ARGS` against the implementation's bus (system bus in the container, --address for the fake). */
  busctl(args: string[]): Promise<RunResult>;
  /** The UID of a user whose user-UID.slice exists (a lingering or logged-in user). */
  liveUid: number;
}

const M = ['org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager'];

function expect(cond: boolean, what: string, r?: RunResult): void {
  if (!cond) throw new Error(`contract violated: ${what}${r ? ` (exit ${r.code}, stdout ${r.stdout.trim()}, stderr ${r.stderr.trim()})` : ''}`);
}

async function json(ctx: ContractContext, args: string[]): Promise<{ type: string; data: unknown[] }> {
  const r = await ctx.busctl(['--json=short', ...args]);
  expect(r.code === 0, `busctl ${args.join(' ')} succeeds`, r);
  return JSON.parse(r.stdout) as { type: string; data: unknown[] };
}

async function unitPath(ctx: ContractContext, unit: string): Promise<string> {
  const r = await json(ctx, ['call', ...M, 'GetUnit', 's', unit]);
  expect(r.type === 'o' && typeof r.data[0] === 'string', 'GetUnit returns an object path');
  return r.data[0] as string;
}

/** Reads a property as busctl prints it ("t 18446744073709551615"): JSON would round 64-bit values. */
async function sliceProp(ctx: ContractContext, path: string, prop: string): Promise<{ type: string; value: string }> {
  const r = await ctx.busctl(['get-property', 'org.freedesktop.systemd1', path, 'org.freedesktop.systemd1.Slice', prop]);
  expect(r.code === 0, `get-property ${prop} succeeds`, r);
  const [type, value] = r.stdout.trim().split(' ');
  return { type, value };
}

/** Polls `f` until it returns a value other than undefined, for at most `ms`. */
async function poll<T>(f: () => Promise<T | undefined>, ms = 5000): Promise<T | undefined> {
  for (const end = Date.now() + ms; ; ) {
    const v = await f();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads a string or uint32 unit property as busctl prints it ('s "x"', 'u 12'). */
async function unitProp(ctx: ContractContext, path: string, iface: string, prop: string): Promise<string> {
  const r = await ctx.busctl(['get-property', 'org.freedesktop.systemd1', path, `org.freedesktop.systemd1.${iface}`, prop]);
  expect(r.code === 0, `get-property ${iface}.${prop} succeeds`, r);
  return r.stdout.trim().replace(/^[su] /, '').replace(/^"(.*)"$/, '$1');
}

export const SYSTEMD1_CONTRACT: { name: string; run: (ctx: ContractContext) => Promise<void> }[] = [
  {
    name: 'ListUnitsByPatterns lists the live user slice, with the row signature we decode',
    run: async (ctx) => {
      const r = await json(ctx, ['call', ...M, 'ListUnitsByPatterns', 'asas', '0', '1', 'user-*.slice']);
      expect(r.type === 'a(ssssssouso)', `row signature a(ssssssouso), got ${r.type}`);
      const names = (r.data[0] as unknown[][]).map((row) => row[0]);
      expect(names.includes(`user-${ctx.liveUid}.slice`), `user-${ctx.liveUid}.slice is listed among ${names.join(',')}`);
      expect(names.every((n) => /^user-[0-9]+\.slice$/.test(String(n))), 'only user-*.slice units are listed');
    },
  },
  {
    name: 'SetUnitProperties (runtime) sets the four limits, and the unit reports them back as uint64',
    run: async (ctx) => {
      const unit = `user-${ctx.liveUid}.slice`;
      const r = await ctx.busctl(['call', ...M, 'SetUnitProperties', 'sba(sv)', unit, 'true', '4',
        'CPUQuotaPerSecUSec', 't', '700000', 'MemoryMax', 't', '314572800', 'MemoryHigh', 't', '18446744073709551615', 'TasksMax', 't', '77']);
      expect(r.code === 0, 'SetUnitProperties succeeds', r);
      const path = await unitPath(ctx, unit);
      const want: Record<string, number | string> = { CPUQuotaPerSecUSec: 700000, MemoryMax: 314572800, MemoryHigh: '18446744073709551615', TasksMax: 77 };
      for (const [k, v] of Object.entries(want)) {
        const p = await sliceProp(ctx, path, k);
        expect(p.type === 't', `${k} has type t, got ${p.type}`);
        expect(String(p.value) === String(v), `${k} reads back ${v}, got ${String(p.value)}`);
      }
      for (const usage of ['MemoryCurrent', 'CPUUsageNSec', 'TasksCurrent']) {
        const cur = await sliceProp(ctx, path, usage);
        expect(cur.type === 't', `${usage} has type t, got ${cur.type}`);
      }
    },
  },
  {
    name: 'GetUnit of a slice that is not loaded fails (the adapter maps it to "no slice")',
    run: async (ctx) => {
      const r = await ctx.busctl(['call', ...M, 'GetUnit', 's', 'user-3999999999.slice']);
      expect(r.code !== 0, 'GetUnit of an unloaded slice fails', r);
      expect(/Unit user-3999999999\.slice not loaded/.test(r.stderr), 'the error says the unit is not loaded', r);
    },
  },
  {
    name: 'SetUnitProperties refuses an unknown property',
    run: async (ctx) => {
      const r = await ctx.busctl(['call', ...M, 'SetUnitProperties', 'sba(sv)', `user-${ctx.liveUid}.slice`, 'true', '1', 'NoSuchPropertyX', 't', '1']);
      expect(r.code !== 0, 'an unknown property is refused', r);
      expect(/Cannot set property NoSuchPropertyX, or unknown property/.test(r.stderr), 'with systemd\'s message', r);
    },
  },
  {
    name: 'Subscribe succeeds (UnitNew is only sent to subscribers)',
    run: async (ctx) => {
      const r = await ctx.busctl(['call', ...M, 'Subscribe']);
      expect(r.code === 0, 'Subscribe succeeds', r);
    },
  },
  {
    name: 'StartTransientUnit of a scope with PIDs moves a live process into user-UID.slice (the way diycloudd places a login)',
    run: async (ctx) => {
      const tag = `diycloud-contract-${Date.now().toString(36)}`;
      const slice = `user-${ctx.liveUid}.slice`;
      // A live process to move: a transient service running sleep (only busctl reaches both worlds).
      const svc = await json(ctx, ['call', ...M, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', `${tag}.service`, 'fail', '2',
        'ExecStart', 'a(sasb)', '1', '/bin/sleep', '2', '/bin/sleep', '60', 'false', 'Description', 's', 'diycloud contract sleeper', '0']);
      expect(svc.type === 'o' && /\/job\/[0-9]+$/.test(String(svc.data[0])), `StartTransientUnit returns a job path, got ${String(svc.data[0])}`);
      try {
        const svcPath = await poll(async () => ((await ctx.busctl(['call', ...M, 'GetUnit', 's', `${tag}.service`])).code === 0 ? unitPath(ctx, `${tag}.service`) : undefined));
        expect(svcPath !== undefined, 'the sleeper service is loaded');
        const pid = await poll(async () => {
          const v = Number(await unitProp(ctx, svcPath!, 'Service', 'MainPID'));
          return v > 0 ? v : undefined;
        });
        expect(pid !== undefined, 'the sleeper service has a main PID');
        const r = await json(ctx, ['call', ...M, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', `${tag}.scope`, 'fail', '4',
          'Description', 's', 'diycloud contract scope', 'Slice', 's', slice, 'PIDs', 'au', '1', String(pid), 'CollectMode', 's', 'inactive-or-failed', '0']);
        expect(r.type === 'o' && /\/job\/[0-9]+$/.test(String(r.data[0])), `StartTransientUnit of the scope returns a job path, got ${String(r.data[0])}`);
        const scopePath = await unitPath(ctx, `${tag}.scope`);
        // GetUnitByPID answers from the PID's own cgroup (/proc/PID/cgroup in systemd).
        const holder = await poll(async () => {
          const g = await ctx.busctl(['--json=short', 'call', ...M, 'GetUnitByPID', 'u', String(pid)]);
          const at = g.code === 0 ? (JSON.parse(g.stdout) as { data: string[] }).data[0] : '';
          return at === scopePath ? at : undefined;
        });
        expect(holder === scopePath, `GetUnitByPID(${pid}) names the scope ${scopePath}`);
        const cgroup = await unitProp(ctx, scopePath, 'Scope', 'ControlGroup');
        expect(cgroup.endsWith(`/user.slice/${slice}/${tag}.scope`), `the scope's ControlGroup is in ${slice}, got ${cgroup}`);
        const dead = await ctx.busctl(['call', ...M, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', `${tag}-dead.scope`, 'fail', '2', 'Slice', 's', slice, 'PIDs', 'au', '1', '4194304', '0']);
        expect(dead.code !== 0 && /Process with ID 4194304 does not exist|No such process/.test(dead.stderr), 'a scope of a PID that does not exist is refused', dead);
        const again = await ctx.busctl(['call', ...M, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', `${tag}.scope`, 'fail', '2', 'Slice', 's', slice, 'PIDs', 'au', '1', String(pid), '0']);
        expect(again.code !== 0 && /Unit .*\.scope was already loaded/.test(again.stderr), 'a second scope of the same name is refused (UnitExists)', again);
      } finally {
        for (const u of [`${tag}.scope`, `${tag}.service`]) await ctx.busctl(['call', ...M, 'StopUnit', 'ss', u, 'replace']);
      }
    },
  },
];
