// The daemon's configuration: schema, defaults and validation (pure; the file is read by an adapter).

import { z } from 'zod';
import { DiycloudError } from './errors';
import { parseIni, type IniDocument } from './ini';
import { grantFromFlag, parseGpuGrant } from './gpu-grant';
import { parseSize } from './size';
import type { Allocation, AllocationBounds } from './allocation';

/**
 * [Defaults] GPU: none, all, indices ("0,2"), or the old flag yes/no/true/false/1/0 (yes = all). A
 * lone "0" or "1" keeps its old meaning (the flag), so an old config still means what it said.
 */
const gpuGrant = z.string().transform((v, ctx) => {
  const flag = /^(yes|no|true|false|1|0)$/.test(v) ? v === 'yes' || v === 'true' || v === '1' : null;
  if (flag !== null) return grantFromFlag(flag);
  try {
    return parseGpuGrant(v);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
    return z.NEVER;
  }
});
const positiveNumber = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?$/, 'expected a positive number such as 1 or 0.5')
  .transform(Number);
const uid = z.string().regex(/^[0-9]{1,10}$/, 'expected a UID').transform(Number).refine((n) => n <= 0xfffffffe, 'UID out of range');
const size = z.string().transform((v, ctx) => {
  try {
    return parseSize(v);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message.replace(/^size: /, '') });
    return z.NEVER;
  }
});
const tasks = z.union([z.literal('infinity'), z.literal(''), z.string().regex(/^[1-9][0-9]{0,9}$/, 'expected a positive integer or "infinity"')])
  .transform((v) => (v === '' || v === 'infinity' ? null : Number(v)));

const schema = z
  .object({
    Defaults: z.object({ CPU: positiveNumber.refine((n) => n > 0, 'must be above 0').default('1'), Memory: size.default('2G'), Disk: size.default('5G'), GPU: gpuGrant.default('none'), Tasks: tasks.default('') }).strict().default({}),
    Limits: z
      .object({
        MinCPU: positiveNumber.refine((n) => n > 0, 'must be above 0').default('0.05'),
        MinMemory: size.refine((n) => n > 0, 'must be above 0').default('64M'),
        AboveMachine: z.enum(['clamp', 'reject']).default('clamp'),
        MinDisk: size.refine((n) => n > 0, 'must be above 0').default('16M'),
        RatchetIntervalSec: positiveNumber.refine((n) => n >= 1 && n <= 3600, 'must be between 1 and 3600 seconds').default('10'),
      })
      .strict()
      .default({}),
    Users: z.object({ UIDMin: uid.optional(), UIDMax: uid.optional() }).strict().default({}),
    Hook: z
      .object({ FailureMode: z.enum(['open', 'closed']).default('open'), TimeoutSec: positiveNumber.refine((n) => n > 0 && n <= 30, 'must be between 0 and 30 seconds').default('2'),
        RuntimeDirectory: z.string().startsWith('/', 'must be an absolute path').default('/run/diycloud'),
        BusAddress: z.string().regex(/^[A-Za-z0-9=:/._,-]+$/, 'expected a D-Bus address such as unix:path=/run/dbus/system_bus_socket').default('unix:path=/run/dbus/system_bus_socket'),
      })
      .strict()
      .default({}),
    Accounts: z
      .object({
        Shells: z.string().regex(/^\/\S+( \/\S+)*$/, 'expected absolute paths separated by spaces').default('/bin/bash /bin/sh'),
        HomeMode: z.string().regex(/^0?[0-7]{3}$/, 'expected an octal mode such as 0700').default('0700'),
        Useradd: z.string().startsWith('/', 'must be an absolute path').default('/usr/sbin/useradd'),
        Userdel: z.string().startsWith('/', 'must be an absolute path').default('/usr/sbin/userdel'),
        Chpasswd: z.string().startsWith('/', 'must be an absolute path').default('/usr/sbin/chpasswd'),
        PamVerify: z.string().startsWith('/', 'must be an absolute path').default('/usr/libexec/diycloud/pam-verify'),
      })
      .strict()
      .default({}),
    Quota: z
      .object({
        // Absent: the filesystem that holds /home. Empty: no quota paths (disk allocations are recorded only).
        Paths: z.string().regex(/^$|^\/\S*( \/\S*)*$/, 'expected absolute paths separated by spaces, or nothing').optional(),
        SoftLimitPercent: z.string().regex(/^[0-9]{1,3}$/, 'expected a whole percentage such as 90').transform(Number).refine((n) => n >= 1 && n <= 100, 'must be between 1 and 100').default('90'),
        GracePeriod: z.string().transform((v, ctx) => {
          const sec = parseDurationSec(v);
          if (sec === null) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration such as 7d, 12h, 30min or 3600 (seconds), at most 365d' });
            return z.NEVER;
          }
          return sec;
        }).default('7d'),
      })
      .strict()
      .default({}),
    // Limit events (src/core/limit-events.ts): thresholds, retention and terminal messages.
    Events: z
      .object({
        ThrottleThreshold: z.string().regex(/^[0-9]{1,3}(\.[0-9]+)?%?$/, 'expected a percentage of a minute such as 10%').transform((v) => Number(v.replace('%', ''))).refine((n) => n >= 1 && n <= 100, 'must be between 1% and 100% of a minute').default('10%'),
        Retention: z.string().transform((v, ctx) => durationIn(v, ctx, 3600, 365 * 86400, 'between 1h and 365d')).default('7d'),
        TerminalMessages: z.enum(['yes', 'no', 'true', 'false', '1', '0']).transform((v) => v === 'yes' || v === 'true' || v === '1').default('yes'),
        MessageInterval: z.string().transform((v, ctx) => durationIn(v, ctx, 1, 86400, 'between 1s and 1d')).default('10min'),
        PollInterval: z.string().transform((v, ctx) => durationIn(v, ctx, 1, 60, 'between 1s and 60s')).default('2s'),
        SampleInterval: z.string().transform((v, ctx) => durationIn(v, ctx, 10, 3600, 'between 10s and 1h')).default('60s'),
      })
      .strict()
      .default({}),
    // GPU groups (defence in depth beside the device cgroup): absent = the groups owning the GPU nodes; empty = none.
    GPU: z.object({ Groups: z.string().regex(/^$|^[a-z_][a-z0-9_-]*(\s+[a-z_][a-z0-9_-]*)*$/, 'expected group names separated by spaces, or nothing').optional() }).strict().default({}),
    // Usage history (src/app/sample-usage.ts): how often live users' usage is sampled.
    Usage: z.object({ SampleIntervalSec: z.string().transform((v, ctx) => durationIn(v, ctx, 1, 300, 'between 1s and 5min')).default('10') }).strict().default({}),
    // Web sessions (org.diycloud.Web1, docs/security.md "The web path"): timeouts, per-user cap, failed-login throttle.
    Web: z
      .object({
        IdleTimeoutSec: z.string().transform((v, ctx) => durationIn(v, ctx, 60, 86400, 'between 1min and 1d')).default('1800'),
        AbsoluteTimeoutSec: z.string().transform((v, ctx) => durationIn(v, ctx, 300, 30 * 86400, 'between 5min and 30d')).default('43200'),
        MaxSessionsPerUser: count(1, 256).default('16'),
        LoginFailuresPerUser: count(1, 1000).default('5'),
        LoginFailuresPerAddress: count(1, 10000).default('20'),
        LoginFailureWindowSec: z.string().transform((v, ctx) => durationIn(v, ctx, 10, 86400, 'between 10s and 1d')).default('900'),
      })
      .strict()
      .default({}),
    // The "request more" queue (src/app/limit-requests.ts): the program that mails a decision to the requester; empty = no mail.
    Requests: z.object({ Mailer: z.string().regex(/^$|^\/\S+$/, 'must be an absolute path, or empty (no mail)').default('') }).strict().default({}),
    Backend: z.object({ Cgroups: z.enum(['auto', 'systemd', 'cgroupfs', 'none']).optional(), Slices: z.enum(['auto', 'systemd', 'none']).optional(), Database: z.string().startsWith('/', 'must be an absolute path').default('/var/lib/diycloud/diycloud.db') }).strict().default({}),
  })
  .strict();

export interface Config {
  readonly defaults: Allocation;
  readonly floor: { readonly minCpuCores: number; readonly minMemoryBytes: number; readonly minDiskBytes: number };
  readonly aboveMachine: AllocationBounds['aboveMachine'];
  readonly ratchetIntervalMs: number;
  readonly uidMin: number;
  readonly uidMax: number;
  readonly hook: { readonly failureMode: 'open' | 'closed'; readonly timeoutMs: number; readonly busAddress: string; readonly runtimeDirectory: string };
  readonly backend: { readonly cgroups: 'auto' | 'systemd' | 'cgroupfs' | 'none'; readonly databasePath: string };
  /** Disk quotas: the paths (null: the filesystem holding /home), soft limit as a share of the hard one, grace period. */
  /** GPU groups: the groups a user with any GPU joins (null: those owning the discovered GPU nodes). */
  readonly gpu: { readonly groups: string[] | null };
  readonly quota: { readonly paths: string[] | null; readonly softShare: number; readonly gracePeriodSec: number };
  /** User creation: allowed shells (the first is the default), home mode, and the tools' paths. */
  /**
   * Limit events: throttled time per minute that counts as hard throttling (µs), how long rows are kept,
   * terminal messages and their interval per user and kind, the cgroup v1 poll interval, and the slow
   * (cpu.stat, disk usage) sampling interval.
   */
  readonly events: { readonly throttleUsecPerMin: number; readonly retentionSec: number; readonly terminalMessages: boolean; readonly messageIntervalSec: number; readonly pollIntervalSec: number; readonly sampleIntervalSec: number };
  readonly accounts: { readonly shells: string[]; readonly homeMode: string; readonly useradd: string; readonly userdel: string; readonly chpasswd: string; readonly pamVerify: string };
  /** Usage history: the sample interval (seconds). */
  readonly usage?: { readonly sampleIntervalSec: number };
  /** Web sessions: idle and absolute timeouts, sessions per user, failed logins allowed per user and per address in the window. */
  /** Limit requests: the sendmail-compatible program for decision mails (null: none are sent). */
  readonly requests?: { readonly mailer: string | null };
  readonly web?: { readonly idleSec: number; readonly absoluteSec: number; readonly maxSessionsPerUser: number; readonly loginFailuresPerUser: number; readonly loginFailuresPerAddress: number; readonly loginFailureWindowSec: number };
}

/**
 * Validates config text. `loginDefs` gives the UID range used when [Users] does not set one.
 * Errors name the section and key ("[Hook] TimeoutSec: must be …"); unknown sections and keys
 * are errors, never ignored.
 */
export function parseConfig(text: string, loginDefs: { uidMin: number; uidMax: number }, source = 'diycloud.conf'): Config {
  const doc: IniDocument = parseIni(text, source);
  const r = schema.safeParse(doc);
  if (!r.success) {
    const msgs = r.error.issues.map((i) => {
      if (i.code === z.ZodIssueCode.unrecognized_keys) {
        const where = i.path.length ? `[${i.path[0]}] ` : '';
        return `${where}unknown ${i.path.length ? 'key' : 'section'} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `[${i.path[0]}] ${i.path.slice(1).join('.')}: ${i.message}`;
    });
    throw new DiycloudError('InvalidArgument', `${source}: ${msgs.join('; ')}`);
  }
  const c = r.data;
  const uidMin = c.Users.UIDMin ?? loginDefs.uidMin;
  const uidMax = c.Users.UIDMax ?? loginDefs.uidMax;
  if (uidMin < 1 || uidMin > uidMax) {
    throw new DiycloudError('InvalidArgument', `${source}: [Users] UIDMin (${uidMin}) must be at least 1 and not above UIDMax (${uidMax})`);
  }
  const cfg: Config = {
    defaults: { cpuCores: c.Defaults.CPU, memoryMaxBytes: c.Defaults.Memory, diskQuotaBytes: c.Defaults.Disk, gpus: c.Defaults.GPU, tasksMax: c.Defaults.Tasks },
    floor: { minCpuCores: c.Limits.MinCPU, minMemoryBytes: c.Limits.MinMemory, minDiskBytes: c.Limits.MinDisk },
    aboveMachine: c.Limits.AboveMachine,
    ratchetIntervalMs: Math.round(c.Limits.RatchetIntervalSec * 1000),
    uidMin,
    uidMax,
    hook: { failureMode: c.Hook.FailureMode, timeoutMs: Math.round(c.Hook.TimeoutSec * 1000), busAddress: c.Hook.BusAddress, runtimeDirectory: c.Hook.RuntimeDirectory },
    // Slices= is the key's name before cgroupfs existed; Cgroups= wins when both are set.
    backend: { cgroups: c.Backend.Cgroups ?? c.Backend.Slices ?? 'auto', databasePath: c.Backend.Database },
    gpu: { groups: c.GPU.Groups === undefined ? null : c.GPU.Groups.split(/\s+/).filter((g) => g !== '') },
    quota: { paths: c.Quota.Paths === undefined ? null : c.Quota.Paths.split(' ').filter((p) => p !== ''), softShare: c.Quota.SoftLimitPercent / 100, gracePeriodSec: c.Quota.GracePeriod },
    events: { throttleUsecPerMin: Math.round(c.Events.ThrottleThreshold * 600_000), retentionSec: c.Events.Retention, terminalMessages: c.Events.TerminalMessages, messageIntervalSec: c.Events.MessageInterval, pollIntervalSec: c.Events.PollInterval, sampleIntervalSec: c.Events.SampleInterval },
    accounts: { shells: c.Accounts.Shells.split(' '), homeMode: c.Accounts.HomeMode.padStart(4, '0'), useradd: c.Accounts.Useradd, userdel: c.Accounts.Userdel, chpasswd: c.Accounts.Chpasswd, pamVerify: c.Accounts.PamVerify },
    usage: { sampleIntervalSec: c.Usage.SampleIntervalSec },
    requests: { mailer: c.Requests.Mailer === '' ? null : c.Requests.Mailer },
    web: { idleSec: c.Web.IdleTimeoutSec, absoluteSec: c.Web.AbsoluteTimeoutSec, maxSessionsPerUser: c.Web.MaxSessionsPerUser, loginFailuresPerUser: c.Web.LoginFailuresPerUser, loginFailuresPerAddress: c.Web.LoginFailuresPerAddress, loginFailureWindowSec: c.Web.LoginFailureWindowSec },
  };
  if (cfg.defaults.diskQuotaBytes > 0 && cfg.defaults.diskQuotaBytes < cfg.floor.minDiskBytes) {
    throw new DiycloudError('InvalidArgument', `${source}: [Defaults] Disk must be 0 (no quota) or not below [Limits] MinDisk`);
  }
  if (cfg.quota.paths && new Set(cfg.quota.paths).size !== cfg.quota.paths.length) throw new DiycloudError('InvalidArgument', `${source}: [Quota] Paths: a path is listed twice`);
  if (cfg.defaults.cpuCores < cfg.floor.minCpuCores || cfg.defaults.memoryMaxBytes < cfg.floor.minMemoryBytes) {
    throw new DiycloudError('InvalidArgument', `${source}: [Defaults] CPU and Memory must not be below [Limits] MinCPU and MinMemory`);
  }
  return cfg;
}


/** A whole number within [min, max] (config text). */
function count(min: number, max: number) {
  return z.string().regex(/^[0-9]{1,6}$/, 'expected a whole number').transform(Number).refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);
}

/** A duration within [minSec, maxSec], or a zod issue naming the range. */
function durationIn(v: string, ctx: z.RefinementCtx, minSec: number, maxSec: number, range: string): number {
  const sec = parseDurationSec(v);
  if (sec === null || sec < minSec || sec > maxSec) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected a duration such as 7d, 12h, 30min or 90s, ${range}` });
    return z.NEVER;
  }
  return sec;
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, sec: 1, min: 60, m: 60, h: 3600, d: 86400, w: 604800 };

/** "7d", "12h", "30min", "90s" or plain seconds (systemd's spellings); null when malformed or above 365 days. */
export function parseDurationSec(v: string): number | null {
  const m = /^([0-9]{1,8})(s|sec|min|m|h|d|w)?$/.exec(v);
  if (!m) return null;
  const sec = Number(m[1]) * DURATION_UNITS[m[2] ?? ''];
  return sec <= 365 * 86400 ? sec : null;
}
