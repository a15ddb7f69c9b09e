// Pure: command-line values to the a{sv} dictionaries of Manager1 (limits, filters, user options).

import { Variant } from 'dbus-next';
import { UsageError } from './errors';

/** The options `limits set` and `profile set` take, as commander hands them over. */
export interface LimitOptions {
  cpu?: string;
  memory?: string;
  disk?: string;
  /** --gpus: none, all or indices. */
  gpus?: string;
  /** --gpu / --no-gpu: the old flags. */
  gpu?: boolean;
  tasks?: string;
}

/** Cores: a positive decimal number ("2", "0.5"). */
export function parseCores(s: string): number {
  if (!/^(\d+(\.\d+)?|\.\d+)$/.test(s) || !(Number(s) > 0)) throw new UsageError(`--cpu: "${s}" is not a number of cores (e.g. 2 or 0.5)`);
  return Number(s);
}

/** A non-negative integer, as a bigint for 't'. */
export function parseCount(s: string, flag: string): bigint {
  if (!/^\d{1,19}$/.test(s)) throw new UsageError(`${flag}: "${s}" is not a whole number`);
  const n = BigInt(s);
  if (n > 2n ** 64n - 1n) throw new UsageError(`${flag}: ${s} is too large`);
  return n;
}

/**
 * Keys of SetLimits/SetProfile: "cpu" d, "memory" s, "disk" s, "gpu" s ("none", "all", "0,2"), "tasks" t.
 * Sizes go as strings ("2G"): the daemon parses and range-checks them and names the field.
 * At least one key is required.
 */
export function encodeLimits(o: LimitOptions): Record<string, Variant> {
  const out = limitVariants(o);
  if (Object.keys(out).length === 0) throw new UsageError('give at least one of --cpu, --memory, --disk, --gpus, --tasks');
  return out;
}

/** The limit keys given, possibly none. */
function limitVariants(o: LimitOptions): Record<string, Variant> {
  const out: Record<string, Variant> = {};
  if (o.cpu !== undefined) out.cpu = new Variant('d', parseCores(o.cpu));
  if (o.memory !== undefined) out.memory = new Variant('s', o.memory);
  if (o.disk !== undefined) out.disk = new Variant('s', o.disk);
  if (o.gpus !== undefined && o.gpu !== undefined) throw new UsageError('give --gpus or --gpu/--no-gpu, not both');
  if (o.gpus !== undefined) out.gpu = new Variant('s', o.gpus);
  if (o.gpu !== undefined) out.gpu = new Variant('s', o.gpu ? 'all' : 'none');
  if (o.tasks !== undefined) out.tasks = new Variant('t', parseCount(o.tasks, '--tasks'));
  return out;
}

/** SetLimits' gpuRevoke s: "report" or "kill" (checked here too, so a typo is a usage error before any call). */
export function encodeGpuRevoke(mode: string): Variant {
  if (mode !== 'report' && mode !== 'kill') throw new UsageError(`--gpu-revoke: expected report or kill, got "${mode}"`);
  return new Variant('s', mode);
}

/** ListUsers filter: "role" s, "enabled" b. */
export function encodeUserFilter(o: { role?: string; enabled?: boolean; disabled?: boolean }): Record<string, Variant> {
  if (o.enabled && o.disabled) throw new UsageError('--enabled and --disabled exclude each other');
  const out: Record<string, Variant> = {};
  if (o.role !== undefined) out.role = new Variant('s', o.role);
  if (o.enabled) out.enabled = new Variant('b', true);
  if (o.disabled) out.enabled = new Variant('b', false);
  return out;
}

/** The options `user list` takes, as commander hands them over. */
export interface UserQueryOptions {
  role?: string;
  enabled?: boolean;
  disabled?: boolean;
  search?: string;
  limit?: string;
  offset?: string;
  sort?: string;
  desc?: boolean;
  hasGpu?: boolean;
  overQuota?: boolean;
}

/** An unsigned 32-bit count for a "u" key; `min` is 0 for offsets, 1 for limits. */
function parseU32(s: string, flag: string, min: number): number {
  const n = parseCount(s, flag);
  if (n < BigInt(min) || n > 0xffffffffn) throw new UsageError(`${flag}: ${s} is out of range (${min}..4294967295)`);
  return Number(n);
}

/**
 * QueryUsers query: the ListUsers filter keys, "search" s, "limit" u, "offset" u, "sort" s,
 * "order" s ("desc" with --desc), "hasGpu" b, "overQuota" b (each sent only when given). The daemon
 * checks values (limit 1..1000, sort keys) and names the key; here only what is not a number is a usage error.
 */
export function encodeUserQuery(o: UserQueryOptions): Record<string, Variant> {
  const out = encodeUserFilter(o);
  if (o.search !== undefined) out.search = new Variant('s', o.search);
  if (o.limit !== undefined) out.limit = new Variant('u', parseU32(o.limit, '--limit', 1));
  if (o.offset !== undefined) out.offset = new Variant('u', parseU32(o.offset, '--offset', 0));
  if (o.sort !== undefined) out.sort = new Variant('s', o.sort);
  if (o.desc) out.order = new Variant('s', 'desc');
  if (o.hasGpu) out.hasGpu = new Variant('b', true);
  if (o.overQuota) out.overQuota = new Variant('b', true);
  return out;
}

/** GetAuditLog filter: "limit" u, "user" s. */
export function encodeAuditFilter(o: { user?: string; limit?: string }): Record<string, Variant> {
  const out: Record<string, Variant> = {};
  if (o.user !== undefined) out.user = new Variant('s', o.user);
  if (o.limit !== undefined) {
    const n = parseCount(o.limit, '--limit');
    if (n < 1n || n > 0xffffffffn) throw new UsageError(`--limit: ${o.limit} is out of range (1..4294967295)`);
    out.limit = new Variant('u', Number(n));
  }
  return out;
}

/** The options `user add` takes, as commander hands them over (the password is read separately). */
export interface CreateUserOptions extends LimitOptions {
  shell?: string;
}

/**
 * CreateUser options: "password" s (only when one was read; without it the account stays
 * locked), "shell" s, "limits" a{sv} (only when a limit option was given; keys as in SetLimits).
 */
export function encodeCreateOptions(o: CreateUserOptions, password: string | null): Record<string, Variant> {
  const out: Record<string, Variant> = {};
  if (password !== null) out.password = new Variant('s', password);
  if (o.shell !== undefined) out.shell = new Variant('s', o.shell);
  const limits = limitVariants(o);
  if (Object.keys(limits).length > 0) out.limits = new Variant('a{sv}', limits);
  return out;
}

/** DeleteUser options: "force" b, "remove_home" b (sent only when set). */
export function encodeDeleteOptions(o: { force?: boolean; removeHome?: boolean }): Record<string, Variant> {
  const out: Record<string, Variant> = {};
  if (o.force) out.force = new Variant('b', true);
  if (o.removeHome) out.remove_home = new Variant('b', true);
  return out;
}
