// Pure: QueryUsers' query (validation, defaults), and the filter, sort and page over the users' facts.

import { DiycloudError } from './errors';
import { validateRole } from './roles';
import { printable } from './size';

export const QUERY_DEFAULT_LIMIT = 50;
export const QUERY_MAX_LIMIT = 1000;
/** The longest search text: an e-mail address's length (RFC 5321 path). */
export const QUERY_MAX_SEARCH_CHARS = 254;
export const QUERY_SORT_KEYS = ['name', 'uid', 'role', 'memory', 'cpuUsage', 'memoryUsage'] as const;
export type QuerySortKey = (typeof QUERY_SORT_KEYS)[number];
/** The sort keys that are database columns: a store can order and page by them itself. */
export const COLUMN_SORT_KEYS = ['name', 'uid', 'role'] as const;
export type ColumnSortKey = (typeof COLUMN_SORT_KEYS)[number];
export const QUERY_KEYS = ['offset', 'limit', 'search', 'role', 'enabled', 'hasGpu', 'overQuota', 'sort', 'order'] as const;

/** A validated query: null is "no filter". */
export interface UserQuery {
  readonly offset: number;
  readonly limit: number;
  /** Lowercased; matched as a substring of the name or the e-mail address. */
  readonly search: string | null;
  readonly role: string | null;
  readonly enabled: boolean | null;
  readonly hasGpu: boolean | null;
  readonly overQuota: boolean | null;
  readonly sort: QuerySortKey;
  readonly order: 'asc' | 'desc';
}

/** What the filters and sort keys look at, per user: all of it at hand without a cgroup read. */
export interface UserFacts {
  readonly name: string;
  readonly uid: number;
  readonly email: string | null;
  readonly role: string;
  readonly enabled: boolean;
  /** The allocation's memory limit (bytes). */
  readonly memoryBytes: number;
  /** Whether the allocation grants any GPU. */
  readonly hasGpu: boolean;
  /** Over the disk quota on any quota path. */
  readonly overQuota: boolean;
  /** The latest usage sample (sort keys cpuUsage, memoryUsage); 0 for a user without a live cgroup. */
  readonly cpuPercent?: number;
  readonly memoryUsedBytes?: number;
}

const bad = (key: string, what: string): DiycloudError => new DiycloudError('InvalidArgument', `query.${key}: ${what}`, { field: key });

function count(raw: unknown, key: string, min: number, max: number): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw)) throw bad(key, 'expected an integer');
  if (raw < min || raw > max) throw bad(key, `${raw} is out of range (${min}..${max})`);
  return raw;
}

function flag(raw: unknown, key: string): boolean | null {
  if (raw === undefined) return null;
  if (typeof raw !== 'boolean') throw bad(key, 'expected a boolean');
  return raw;
}

function oneOf<T extends string>(raw: unknown, key: string, allowed: readonly T[], dflt: T): T {
  if (raw === undefined) return dflt;
  if (typeof raw !== 'string' || !(allowed as readonly string[]).includes(raw)) {
    throw bad(key, `"${printable(String(raw).slice(0, 40))}" is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

/**
 * The query from plain values (the bus adapter has checked the wire types; this checks values, and
 * types again for callers that are not the bus). Unknown keys, wrong types and values out of range are
 * InvalidArgument naming the key.
 */
export function parseUserQuery(raw: Readonly<Record<string, unknown>>): UserQuery {
  for (const k of Object.keys(raw)) {
    if (!(QUERY_KEYS as readonly string[]).includes(k)) throw bad(printable(k.slice(0, 40)), `unknown key; known keys: ${QUERY_KEYS.join(', ')}`);
  }
  let search: string | null = null;
  if (raw.search !== undefined) {
    if (typeof raw.search !== 'string') throw bad('search', 'expected a string');
    if (raw.search.length > QUERY_MAX_SEARCH_CHARS) throw bad('search', `longer than ${QUERY_MAX_SEARCH_CHARS} characters`);
    search = raw.search === '' ? null : raw.search.toLowerCase();
  }
  return {
    offset: raw.offset === undefined ? 0 : count(raw.offset, 'offset', 0, 0xffffffff),
    limit: raw.limit === undefined ? QUERY_DEFAULT_LIMIT : count(raw.limit, 'limit', 1, QUERY_MAX_LIMIT),
    search,
    role: raw.role === undefined ? null : validateRole(raw.role, 'query.role'),
    enabled: flag(raw.enabled, 'enabled'),
    hasGpu: flag(raw.hasGpu, 'hasGpu'),
    overQuota: flag(raw.overQuota, 'overQuota'),
    sort: oneOf(raw.sort, 'sort', QUERY_SORT_KEYS, 'name'),
    order: oneOf(raw.order, 'order', ['asc', 'desc'] as const, 'asc'),
  };
}

/**
 * The query's sort when it and every filter the query sets are columns (role, enabled, search: the
 * store can select the page, in compare()'s order); null when a filter or the sort needs decided
 * allocations, disk usage or usage samples (hasGpu, overQuota, memory, cpuUsage, memoryUsage).
 */
export function columnSort(q: UserQuery): ColumnSortKey | null {
  if (q.hasGpu !== null || q.overQuota !== null) return null;
  return (COLUMN_SORT_KEYS as readonly string[]).includes(q.sort) ? (q.sort as ColumnSortKey) : null;
}

/** The search filter: `search` (lowercased) in the lowercased name or e-mail address. */
export function matchesSearch(name: string, email: string | null, search: string): boolean {
  return name.toLowerCase().includes(search) || (email ?? '').toLowerCase().includes(search);
}

function matches(f: UserFacts, q: UserQuery): boolean {
  if (q.role !== null && f.role !== q.role) return false;
  if (q.enabled !== null && f.enabled !== q.enabled) return false;
  if (q.hasGpu !== null && f.hasGpu !== q.hasGpu) return false;
  if (q.overQuota !== null && f.overQuota !== q.overQuota) return false;
  if (q.search !== null && !matchesSearch(f.name, f.email, q.search)) return false;
  return true;
}

const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);

function compare(a: UserFacts, b: UserFacts, key: QuerySortKey): number {
  const primary =
    key === 'name' ? cmp(a.name, b.name)
    : key === 'uid' ? cmp(a.uid, b.uid)
    : key === 'role' ? cmp(a.role, b.role)
    : key === 'cpuUsage' ? cmp(a.cpuPercent ?? 0, b.cpuPercent ?? 0)
    : key === 'memoryUsage' ? cmp(a.memoryUsedBytes ?? 0, b.memoryUsedBytes ?? 0)
    : cmp(a.memoryBytes, b.memoryBytes);
  // Ties by name, then uid: the order, and so the pages, are stable between calls.
  return primary || cmp(a.name, b.name) || cmp(a.uid, b.uid);
}

/**
 * The matching items (total) and the page of them the query asks for, in its order. `facts` is
 * called once per item; the expensive parts of a record are for the caller to build for the page only.
 */
export function selectPage<T>(items: readonly T[], facts: (t: T) => UserFacts, q: UserQuery): { total: number; page: T[] } {
  const hits: { item: T; f: UserFacts }[] = [];
  for (const item of items) {
    const f = facts(item);
    if (matches(f, q)) hits.push({ item, f });
  }
  const sign = q.order === 'desc' ? -1 : 1;
  hits.sort((a, b) => sign * compare(a.f, b.f, q.sort));
  return { total: hits.length, page: hits.slice(q.offset, q.offset + q.limit).map((h) => h.item) };
}

/** selectPage for items already filtered but for `keep` and already in the query's order: no sort. */
export function pageOfOrdered<T>(items: readonly T[], keep: (t: T) => boolean, q: UserQuery): { total: number; page: T[] } {
  const hits = items.filter(keep);
  return { total: hits.length, page: hits.slice(q.offset, q.offset + q.limit) };
}

/** What the sorts and filters on decided allocations and usage read, per user (UserFacts' part of them). */
export type DecidedFacts = Pick<UserFacts, 'memoryBytes' | 'hasGpu' | 'overQuota' | 'cpuPercent' | 'memoryUsedBytes'>;

/** The hasGpu and overQuota filters. */
export function matchesDecided(f: DecidedFacts, q: UserQuery): boolean {
  return (q.hasGpu === null || f.hasGpu === q.hasGpu) && (q.overQuota === null || f.overQuota === q.overQuota);
}

/**
 * selectPage for a sort on memory, cpuUsage or memoryUsage, over items that match the query's column
 * filters (role, enabled, search) already and come in name order (ties by uid): filters hasGpu and
 * overQuota, and sorts by the key alone with ties in that order (reversed for desc), which is
 * compare()'s order without comparing a name.
 */
export function selectPageInNameOrder<T>(items: readonly T[], facts: (t: T) => DecidedFacts, q: UserQuery): { total: number; page: T[] } {
  const key: (f: DecidedFacts) => number =
    q.sort === 'cpuUsage' ? (f) => f.cpuPercent ?? 0 : q.sort === 'memoryUsage' ? (f) => f.memoryUsedBytes ?? 0 : (f) => f.memoryBytes;
  const hits: { item: T; k: number; at: number }[] = [];
  for (let i = 0; i < items.length; i++) {
    const f = facts(items[i]);
    if (matchesDecided(f, q)) hits.push({ item: items[i], k: key(f), at: i });
  }
  const sign = q.order === 'desc' ? -1 : 1;
  hits.sort((a, b) => sign * (cmp(a.k, b.k) || a.at - b.at));
  return { total: hits.length, page: hits.slice(q.offset, q.offset + q.limit).map((h) => h.item) };
}
