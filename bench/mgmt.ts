// Benchmarks 4, 5 and 6: the management API (ListUsers over 10,000 DB users, sequential GetUser against a Get(Version) baseline;
// sequential CreateUser against useradd run directly).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoginEnv } from '../test/e2e/lib/login-env';
import { summarize, type Summary } from './lib/stats';
import { cpuTimes } from './throughput';

/** lat: successful calls only; errLat: the failed ones; causes: diycloudd's journal lines for the failures (the cause chain). */
export interface MgmtKind { calls: number; errors: number; firstErrors: string[]; lat: Summary; errLat: Summary; replyBytes: number; clientParseMs?: number; causes?: string[] }
export interface ListUsersResult { dbUsers: number; liveSlices: number; items: number; withSlice: number; ping: MgmtKind; list: MgmtKind; cpuSec: Record<string, number>; wallSec: number }
export interface CreateUserHome { path: string; mode?: string; owner?: number; files?: string[]; skel?: string[]; error?: string }
/** create/useradd: the timed calls (warm-up dropped); deleteUser/userdel: the clean-up of every account made (warm-up included). */
export interface CreateUserResult {
  createPrefix: string; useraddPrefix: string; perRound: number; warmup: number; shell: string; homeMode: string;
  create: MgmtKind; useradd: MgmtKind; deleteUser: MgmtKind; userdel: MgmtKind;
  /** median(CreateUser) − median(useradd), ms */
  addedMedianMs: number; home?: CreateUserHome;
  /** accounts with either prefix still in NSS after the clean-up (before the fallback userdel), and home directories left */
  leftoverAccounts: string[]; leftoverHomes: string[];
  cpuSec: Record<string, number>; wallSec: number;
}
export interface GetUserResult { user: string; noSliceUser: string; sliceExists: boolean; ping: MgmtKind; get: MgmtKind; getNoSlice: MgmtKind; cpuSec: Record<string, number>; wallSec: number }

const DRIVER = '/opt/diycloud-bench/mgmt-driver.cjs';
const MODULES = '/usr/lib/diycloud/node_modules/dbus-next';

interface DriverOut {
  kinds: Record<string, { calls: number; errors: number; firstErrors: string[]; lat: number[]; errLat: number[] }>;
  reply: Record<string, { bytes: number; clientParseMs?: number; items?: number; withSlice?: number; sliceExists?: boolean }>;
  home?: CreateUserHome;
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

/**
 * CreateUser(name, email, "user", a{sv} {}) as root, sequentially, for `calls` fresh names (CREATE_PREFIX0000…), end to end
 * through diycloudd (real useradd with a home from /etc/skel, role groups, SQLite rows); baseline: useradd run directly by the
 * driver with the arguments diycloudd passes, for as many other names, in alternating rounds of `perRound`. Every account
 * made is removed afterwards (DeleteUser remove_home / userdel --remove, timed); anything left over is removed with userdel -r.
 */
export async function runCreateUser(e: LoginEnv, calls: number, o: { perRound?: number; warmup?: number; createPrefix?: string; useraddPrefix?: string; useraddUid0?: number; shell?: string; homeMode?: string } = {}): Promise<CreateUserResult> {
  const perRound = o.perRound ?? 5, warmup = o.warmup ?? 2, createPrefix = o.createPrefix ?? 'bc', useraddPrefix = o.useraddPrefix ?? 'bd';
  const shell = o.shell ?? '/bin/bash', homeMode = o.homeMode ?? '0700', useraddUid0 = o.useraddUid0 ?? 50_000;
  const { out, cpuSec, wallSec, causes } = await drive(e, ['createuser', calls, perRound, warmup, createPrefix, useraddPrefix, useraddUid0, shell, homeMode]);
  const pattern = `^(${createPrefix}|${useraddPrefix})[0-9]{4}$`;
  const leftoverAccounts = (await e.c.exec(`getent passwd | cut -d: -f1 | grep -E '${pattern}' || true`)).stdout.split('\n').filter(Boolean);
  const leftoverHomes = (await e.c.exec(`ls /home | grep -E '${pattern}' || true`)).stdout.split('\n').filter(Boolean);
  // fallback clean-up so that later benchmarks see the state they expect
  for (const n of leftoverAccounts) await e.c.exec(`userdel --remove -- ${n}`, { allowFail: true });
  for (const n of leftoverHomes) await e.c.exec(`rm -rf -- /home/${n}`, { allowFail: true });
  if (leftoverAccounts.length) await e.sql(`.timeout 10000\nDELETE FROM users WHERE username GLOB '${createPrefix}[0-9][0-9][0-9][0-9]';`);
  const create = { ...kind(out, 'createuser'), causes }, useradd = kind(out, 'useradd');
  return {
    createPrefix, useraddPrefix, perRound, warmup, shell, homeMode,
    create, useradd, deleteUser: kind(out, 'deleteuser'), userdel: kind(out, 'userdel'),
    addedMedianMs: create.lat.median - useradd.lat.median, home: out.home, leftoverAccounts, leftoverHomes, cpuSec, wallSec,
  };
}
