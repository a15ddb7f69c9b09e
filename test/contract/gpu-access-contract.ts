// The GpuAccess port contract: the cgroupfs v1 devices adapter (this host's kernel), the systemd adapter (in the VM) and the in-memory fake must all pass it.

import { planDevicePolicy, parseProcDevices } from '../../src/core/device-rules';
import type { GpuInventory } from '../../src/core/gpu';
import { GPU_ALL, GPU_NONE, type GpuGrant } from '../../src/core/gpu-grant';
import type { GpuAccess } from '../../src/core/ports';

/** What a process in the user's cgroup tries: GPU 0's and 1's nodes, nvidiactl, and what every session needs. */
export const PROBES = ['gpu0', 'gpu1', 'ctl', 'null', 'urandom', 'fuse', 'tun', 'pty'] as const;
export type Probe = (typeof PROBES)[number];

export interface GpuAccessContext {
  readonly gpu: GpuAccess;
  readonly uid: number;
  /** Two GPUs (index 0 and 1, major 195 minors 0 and 1) and nvidiactl (195:255), at whatever paths the context made them. */
  readonly inventory: GpuInventory;
  /** /proc/devices of the host (the fake gets this host's). */
  readonly procDevices: string;
  /** For each probe, what a process of `uid` inside its cgroup got: "EPERM" when the device cgroup refused, "ok" or another errno otherwise. */
  probe(uid: number): Promise<Record<Probe, string>>;
  /** Starts a process of `uid` holding `path` open; stop() ends it if it still runs. */
  hold(uid: number): Promise<{ pid: number; path: string; stop(): Promise<void> }>;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`GpuAccess contract violated: ${what}`);
}

const SESSION: Probe[] = ['null', 'urandom', 'fuse', 'tun', 'pty'];

async function applyGrant(ctx: GpuAccessContext, grant: GpuGrant, inv = ctx.inventory, proc = ctx.procDevices): Promise<Record<Probe, string>> {
  await ctx.gpu.apply(ctx.uid, planDevicePolicy(grant, inv, parseProcDevices(proc)));
  return ctx.probe(ctx.uid);
}

function expectOpen(r: Record<Probe, string>, probes: Probe[], open: boolean, when: string): void {
  for (const p of probes) check((r[p] === 'EPERM') !== open, `${when}: ${p} ${open ? 'opens (not EPERM)' : 'is refused with EPERM'}, got ${r[p]} (${JSON.stringify(r)})`);
}

export const GPU_ACCESS_CONTRACT: { name: string; run: (ctx: GpuAccessContext) => Promise<void> }[] = [
  {
    name: 'status says the device cgroup holds GPU access',
    run: async (ctx) => check(ctx.gpu.status().state === 'device cgroup', `status ${JSON.stringify(ctx.gpu.status())}`),
  },
  {
    name: 'no GPUs: every GPU node EPERM (even at mode 0666); /dev/null, urandom, fuse, tun and a pty still work',
    run: async (ctx) => {
      const r = await applyGrant(ctx, GPU_NONE);
      expectOpen(r, ['gpu0', 'gpu1', 'ctl'], false, 'grant none');
      expectOpen(r, SESSION, true, 'grant none');
    },
  },
  {
    name: 'GPU 0 only: its node and nvidiactl open, GPU 1 EPERM, the session devices work',
    run: async (ctx) => {
      const r = await applyGrant(ctx, { kind: 'some', indices: [0] });
      expectOpen(r, ['gpu0', 'ctl'], true, 'grant 0');
      expectOpen(r, ['gpu1'], false, 'grant 0');
      expectOpen(r, SESSION, true, 'grant 0');
    },
  },
  {
    name: 'all GPUs open; narrowing back to none closes them again (applied twice: idempotent)',
    run: async (ctx) => {
      expectOpen(await applyGrant(ctx, GPU_ALL), ['gpu0', 'gpu1', 'ctl', ...SESSION], true, 'grant all');
      await applyGrant(ctx, GPU_NONE);
      const r = await applyGrant(ctx, GPU_NONE);
      expectOpen(r, ['gpu0', 'gpu1', 'ctl'], false, 'all, then none twice');
      expectOpen(r, SESSION, true, 'all, then none twice');
    },
  },
  {
    name: 'a host without GPU nodes or drivers restricts nothing',
    run: async (ctx) => {
      await applyGrant(ctx, GPU_NONE);
      const empty: GpuInventory = { ...ctx.inventory, devices: [], nodes: [], sharedNodes: [] };
      const proc = ctx.procDevices.split('\n').filter((l) => !/^\s*[0-9]+\s+(nvidia.*|drm|kfd)\s*$/.test(l)).join('\n');
      expectOpen(await applyGrant(ctx, GPU_NONE, empty, proc), [...SESSION, 'gpu0', 'gpu1', 'ctl'], true, 'no GPUs on the host');
    },
  },
  {
    name: 'holders finds the user process holding a node open, and kill ends it',
    run: async (ctx) => {
      const h = await ctx.hold(ctx.uid);
      try {
        const found = await ctx.gpu.holders(ctx.uid, [h.path]);
        check(found.pids.includes(h.pid), `holders lists PID ${h.pid} (${JSON.stringify(found)})`);
        check(!(await ctx.gpu.holders(ctx.uid + 1, [h.path])).pids.includes(h.pid), 'another UID does not list it');
        check((await ctx.gpu.kill([h.pid])).includes(h.pid), 'kill reports the PID');
        let gone = false;
        for (let i = 0; i < 50 && !gone; i++) {
          gone = !(await ctx.gpu.holders(ctx.uid, [h.path])).pids.includes(h.pid);
          if (!gone) await new Promise((r) => setTimeout(r, 20));
        }
        check(gone, 'the killed process no longer holds the node');
      } finally {
        await h.stop();
      }
    },
  },
];
