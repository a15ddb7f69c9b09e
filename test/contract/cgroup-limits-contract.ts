// The SliceManager port contract: the systemd adapter (over a bus) and the in-memory fake must both pass it.

import type { SliceManager } from '../../src/core/ports';

export interface SliceManagerContext {
  readonly slices: SliceManager;
  /** A UID whose slice exists now. */
  readonly liveUid: number;
  /** Makes a new slice appear for `uid` (as a login or linger would) and resolves once it exists. */
  addSlice(uid: number): Promise<void>;
  /** A live process the placement cases may move (outside any user slice); without it they are skipped. */
  readonly livePid?: number;
  /** The UID whose user slice holds `pid` now, as the backend's world reports it, or null. */
  sliceOf?(pid: number): Promise<number | null>;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`SliceManager contract violated: ${what}`);
}

export const SLICE_MANAGER_CONTRACT: { name: string; run: (ctx: SliceManagerContext) => Promise<void> }[] = [
  {
    name: 'lists the live slice by UID',
    run: async (ctx) => check((await ctx.slices.listUserSlices()).includes(ctx.liveUid), 'listUserSlices includes the live UID'),
  },
  {
    name: 'applied limits are observed back exactly, "infinity" included',
    run: async (ctx) => {
      await ctx.slices.apply(ctx.liveUid, { CPUQuotaPerSecUSec: 250_000, MemoryMax: 128 * 1024 ** 2, MemoryHigh: 'infinity', TasksMax: 64 });
      const s = await ctx.slices.observe(ctx.liveUid);
      check(s !== null, 'the live slice is observed');
      check(s!.limits.CPUQuotaPerSecUSec === 250_000 && s!.limits.MemoryMax === 128 * 1024 ** 2, 'CPU and memory read back');
      check(s!.limits.MemoryHigh === 'infinity' && s!.limits.TasksMax === 64, 'MemoryHigh infinity and TasksMax read back');
      check(s!.memoryMaxBytes === 128 * 1024 ** 2, 'memoryMaxBytes mirrors MemoryMax');
    },
  },
  {
    name: 'a slice that does not exist is observed as null',
    run: async (ctx) => check((await ctx.slices.observe(3_999_999_999)) === null, 'observe of a missing slice is null'),
  },
  {
    name: 'watch reports a slice that appears afterwards',
    run: async (ctx) => {
      const seen: number[] = [];
      await ctx.slices.watch((uid) => seen.push(uid));
      await ctx.addSlice(ctx.liveUid + 7);
      for (let i = 0; i < 100 && !seen.includes(ctx.liveUid + 7); i++) await new Promise((r) => setTimeout(r, 20));
      check(seen.includes(ctx.liveUid + 7), 'the new slice was reported');
    },
  },
  {
    name: 'placeProcess moves a live process into the user slice (creating it) and resolves only once it is there',
    run: async (ctx) => {
      if (ctx.livePid === undefined || !ctx.sliceOf) return;
      const uid = ctx.liveUid + 11; // a slice that does not exist yet, as for a first cron job
      check((await ctx.slices.observe(uid)) === null, 'the slice does not exist before');
      check((await ctx.slices.placeProcess(uid, ctx.livePid)) === 'placed', 'placeProcess reports "placed"');
      check((await ctx.sliceOf(ctx.livePid)) === uid, `the process is in user-${uid}.slice when placeProcess resolves`);
      check((await ctx.slices.observe(uid)) !== null, 'the slice exists afterwards (and can get its limits)');
    },
  },
  {
    name: 'placeProcess of a PID that is no live process fails with BackendFailed',
    run: async (ctx) => {
      if (ctx.livePid === undefined) return;
      const e = await ctx.slices.placeProcess(ctx.liveUid, 4_194_304).then(() => null, (x: unknown) => x as { code?: string });
      check(e !== null && e.code === 'BackendFailed', `rejected with BackendFailed, got ${JSON.stringify(e)}`);
    },
  },
];
