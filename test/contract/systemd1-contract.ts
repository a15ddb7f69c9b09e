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
];
