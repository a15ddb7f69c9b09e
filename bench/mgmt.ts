// Benchmarks 4 and 5: the management API (ListUsers over 10,000 DB users, sequential GetUser) against a Get(Version) baseline.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { summarize, type Summary } from './lib/stats';
import { cpuTimes } from './throughput';

/** lat: successful calls only; errLat: the failed ones; causes: diycloudd's journal lines for the failures (the cause chain). */
export interface MgmtKind { calls: number; errors: number; firstErrors: string[]; lat: Summary; errLat: Summary; replyBytes: number; clientParseMs?: number; causes?: string[] }
export interface ListUsersResult { dbUsers: number; liveSlices: number; items: number; withSlice: number; ping: MgmtKind; list: MgmtKind; cpuSec: Record<string, number>; wallSec: number }
export interface GetUserResult { user: string; noSliceUser: string; sliceExists: boolean; ping: MgmtKind; get: MgmtKind; getNoSlice: MgmtKind; cpuSec: Record<string, number>; wallSec: number }

const DRIVER = '/opt/diycloud-bench/mgmt-driver.cjs';
const MODULES = '/usr/lib/diycloud/node_modules/dbus-next';

interface DriverOut {
  kinds: Record<string, { calls: number; errors: number; firstErrors: string[]; lat: number[]; errLat: number[] }>;
  reply: Record<string, { bytes: number; clientParseMs?: number; items?: number; withSlice?: number; sliceExists?: boolean }>;
}

/** Runs the driver as root inside the container, with the CPU seconds diycloudd, dbus-daemon and systemd used meanwhile. */
async function drive(e: LoginEnv, args: (string | number)[]): Promise<{ out: DriverOut; cpuSec: Record<string, number>; wallSec: number; causes: string[] }> {
  await e.c.writeFile(DRIVER, readFileSync(join(__dirname, 'drivers', 'mgmt-driver.cjs'), 'utf8'));
  const before = await cpuTimes(e);
  const t0 = Date.now();
  const since = Math.floor(t0 / 1000);
  const r = await e.c.exec(`node ${DRIVER} ${MODULES} ${args.join(' ')}`, { timeoutMs: 900_000 });
  const wallSec = (Date.now() - t0) / 1000;
  const after = await cpuTimes(e);
  const cpuSec = Object.fromEntries(Object.keys(after).map((k) => [k, Math.round((after[k] - (before[k] ?? 0)) * 100) / 100]));
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as DriverOut;
  const errors = Object.values(out.kinds).some((k) => k.errors > 0);
  // distinct failure causes as diycloudd logged them (error-reply.ts logs the cause chain), UIDs/units folded
  const causes = errors ? [...new Set((await e.journal(`-u diycloudd --since=@${since} -p warning -o cat`)).split('\n').filter(Boolean)
    .map((l) => l.replace(/user-\d+\.slice/g, 'user-N.slice').replace(/:\d+\.\d+/g, ':X.Y')))].slice(0, 5) : [];
  return { out, cpuSec, wallSec, causes };
}

const kind = (o: DriverOut, k: string): MgmtKind => {
  const x = o.kinds[k];
  return { calls: x.calls, errors: x.errors, firstErrors: x.firstErrors, lat: summarize(x.lat), errLat: summarize(x.errLat), replyBytes: o.reply[k].bytes, clientParseMs: o.reply[k].clientParseMs };
};

/** ListUsers(a{sv} {}) `calls` times, one in flight, alternating rounds of 5 with Get(Version). */
export async function runListUsers(e: LoginEnv, dbUsers: number, liveSlices: number, calls: number): Promise<ListUsersResult> {
  const { out, cpuSec, wallSec, causes } = await drive(e, ['listusers', calls, 5, 3]);
  const info = out.reply.listusers;
  return { dbUsers, liveSlices, items: info.items ?? 0, withSlice: info.withSlice ?? 0, ping: kind(out, 'ping'), list: { ...kind(out, 'listusers'), causes }, cpuSec, wallSec };
}

/** GetUser(user) for a DB user with a live slice, `calls` times sequentially; the same for a DB user with none, and Get(Version). */
export async function runGetUser(e: LoginEnv, user: string, noSliceUser: string, calls: number): Promise<GetUserResult> {
  const { out, cpuSec, wallSec, causes } = await drive(e, ['getuser', calls, 200, 100, user, noSliceUser]);
  return {
    user, noSliceUser, sliceExists: out.reply.getuser.sliceExists ?? false,
    ping: kind(out, 'ping'), get: { ...kind(out, 'getuser'), causes }, getNoSlice: kind(out, 'getuser-noslice'), cpuSec, wallSec,
  };
}
