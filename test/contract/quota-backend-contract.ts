// The QuotaBackend port contract: the btrfs adapter (a real loop device) and the in-memory fake (which
// stands in for quota-tools, since this kernel has no CONFIG_QUOTA) must both pass it.

import type { QuotaBackend, QuotaOwner } from '../../src/core/ports';

export interface QuotaContext {
  /** A backend over a path whose quotas are enforced. */
  readonly quota: QuotaBackend;
  /** A user the backend can hold (on btrfs: their home is a subvolume on the path). */
  readonly owner: QuotaOwner;
  /** A user it cannot hold (on btrfs: a plain-directory home); null where every user can be held. */
  readonly unholdable: QuotaOwner | null;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`QuotaBackend contract violated: ${what}`);
}

const M = 1024 ** 2;

export const QUOTA_CONTRACT: { name: string; run: (ctx: QuotaContext) => Promise<void> }[] = [
  {
    name: 'status says enforced, with no reason or fix',
    run: async (ctx) => {
      const s = await ctx.quota.status();
      check(s.state === 'enforced' && s.reason === null && s.fix === null && s.path === ctx.quota.path, `status ${JSON.stringify(s)}`);
    },
  },
  {
    name: 'an applied hard limit is read back by the bulk usage read (soft too where held)',
    run: async (ctx) => {
      await ctx.quota.apply(ctx.owner, { path: ctx.quota.path, diskSoftBytes: 9 * M, diskHardBytes: 10 * M });
      const u = (await ctx.quota.usage()).get(ctx.owner.uid);
      check(u !== undefined && u.hardBytes === 10 * M, `usage row ${JSON.stringify(u)}`);
      check(!ctx.quota.softLimits || u!.softBytes === 9 * M, `soft limit ${u!.softBytes}`);
      check(u!.usedBytes >= 0 && u!.uid === ctx.owner.uid, 'used bytes and uid');
    },
  },
  {
    name: 'raising the limit is read back',
    run: async (ctx) => {
      await ctx.quota.apply(ctx.owner, { path: ctx.quota.path, diskSoftBytes: 27 * M, diskHardBytes: 30 * M });
      check((await ctx.quota.usage()).get(ctx.owner.uid)?.hardBytes === 30 * M, 'hard limit 30M');
    },
  },
  {
    name: 'remove leaves no limit, and a second remove is not an error',
    run: async (ctx) => {
      await ctx.quota.remove(ctx.owner);
      await ctx.quota.remove(ctx.owner);
      check(((await ctx.quota.usage()).get(ctx.owner.uid)?.hardBytes ?? 0) === 0, 'no hard limit after remove');
    },
  },
  {
    name: 'a user the path cannot hold is QuotaUnsupported, naming what to do',
    run: async (ctx) => {
      if (ctx.unholdable === null) return;
      const e = await ctx.quota.apply(ctx.unholdable, { path: ctx.quota.path, diskSoftBytes: M, diskHardBytes: M }).then(() => null, (x: unknown) => x as { code?: string; message?: string });
      check(e !== null && e.code === 'QuotaUnsupported' && typeof e.message === 'string' && e.message.length > 20, `rejected with QuotaUnsupported, got ${JSON.stringify(e)}`);
    },
  },
];
