// The CgroupLimits port contract: the systemd adapter (over a bus), the cgroupfs adapter (this host's
// real hierarchy) and the in-memory fake must all pass it.

import type { CgroupLimits } from '../../src/core/ports';

export interface CgroupLimitsContext {
  readonly cgroups: CgroupLimits;
  /** A UID whose cgroup exists now. */
  readonly liveUid: number;
  /** Makes a new user cgroup appear for `uid` (as a login or linger would) and resolves once it exists. */
  addUser(uid: number): Promise<void>;
  /** Whether the backend announces cgroups that appear outside the login path (systemd does; cgroupfs has no one to tell it). */
  readonly announcesNew: boolean;
  /** A live process the placement cases may move (outside any user cgroup); without it they are skipped. */
  readonly livePid?: number;
  /** The UID whose user cgroup holds `pid` now, as the backend's world reports it, or null. */
  groupOf?(pid: number): Promise<number | null>;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`CgroupLimits contract violated: ${what}`);
}

const M = 1024 ** 2;

export const CGROUP_LIMITS_CONTRACT: { name: string; run: (ctx: CgroupLimitsContext) => Promise<void> }[] = [
  {
    name: 'lists the live user cgroup by UID',
    run: async (ctx) => check((await ctx.cgroups.listUsers()).includes(ctx.liveUid), 'listUsers includes the live UID'),
  },
  {
    name: 'applied settings are observed back exactly, "infinity" included',
    run: async (ctx) => {
      await ctx.cgroups.apply(ctx.liveUid, { cpuQuotaPerSecUsec: 250_000, memoryMaxBytes: 128 * M, memoryHighBytes: 'infinity', tasksMax: 64 });
      const s = await ctx.cgroups.observe(ctx.liveUid);
      check(s !== null, 'the live cgroup is observed');
      check(s!.settings.cpuQuotaPerSecUsec === 250_000 && s!.settings.memoryMaxBytes === 128 * M, `CPU and memory read back (${JSON.stringify(s!.settings)})`);
      check(s!.settings.memoryHighBytes === 'infinity' && s!.settings.tasksMax === 64, `memoryHighBytes infinity and tasksMax read back (${JSON.stringify(s!.settings)})`);
      check(s!.memoryMaxBytes === 128 * M, 'memoryMaxBytes mirrors the setting');
    },
  },
  {
    name: 'a user cgroup that does not exist is observed as null',
    run: async (ctx) => check((await ctx.cgroups.observe(3_999_999_999)) === null, 'observe of a missing cgroup is null'),
  },
  {
    name: 'watch reports a user cgroup that appears afterwards (where the backend announces them)',
    run: async (ctx) => {
      const seen: number[] = [];
      await ctx.cgroups.watch((uid) => seen.push(uid));
      await ctx.addUser(ctx.liveUid + 7);
      if (!ctx.announcesNew) return check((await ctx.cgroups.listUsers()).includes(ctx.liveUid + 7), 'the new cgroup is listed (Reconcile finds it)');
      for (let i = 0; i < 100 && !seen.includes(ctx.liveUid + 7); i++) await new Promise((r) => setTimeout(r, 20));
      check(seen.includes(ctx.liveUid + 7), 'the new cgroup was reported');
    },
  },
  {
    name: 'placeProcess moves a live process into the user cgroup (creating it) and resolves only once it is there',
    run: async (ctx) => {
      if (ctx.livePid === undefined || !ctx.groupOf) return;
      const uid = ctx.liveUid + 11; // a cgroup that does not exist yet, as for a first cron job
      check((await ctx.cgroups.observe(uid)) === null, 'the cgroup does not exist before');
      check((await ctx.cgroups.placeProcess(uid, ctx.livePid)) === 'placed', 'placeProcess reports "placed"');
      check((await ctx.groupOf(ctx.livePid)) === uid, `the process is in uid ${uid}'s cgroup when placeProcess resolves`);
      check((await ctx.cgroups.observe(uid)) !== null, 'the cgroup exists afterwards (and can get its limits)');
    },
  },
  {
    name: 'placeProcess of a PID that is no live process fails with BackendFailed',
    run: async (ctx) => {
      if (ctx.livePid === undefined) return;
      const e = await ctx.cgroups.placeProcess(ctx.liveUid, 4_194_304).then(() => null, (x: unknown) => x as { code?: string });
      check(e !== null && e.code === 'BackendFailed', `rejected with BackendFailed, got ${JSON.stringify(e)}`);
    },
  },
];
