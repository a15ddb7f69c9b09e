// Pure: the daemon's JSON replies (GetUser, ListUsers, Reconcile, ListProfiles, GetAuditLog) as text.

import type { UserView } from '../../app/get-user';
import type { ReconcileReport } from '../../app/reconcile';
import { cores, humanSize, orDash, quotaCores, renderFields, renderTable, yesNo } from './format';

type Allocation = UserView['allocation'];
const RESOURCES = ['cpu', 'memory', 'disk', 'gpu', 'tasks'] as const;

/** One allocation value for people: cores, a size, yes/no, a count or "-". */
export function allocationCell(key: (typeof RESOURCES)[number], a: Partial<Allocation> | undefined): string {
  const v = a?.[key];
  if (v === undefined || v === null) return '-';
  if (key === 'cpu') return cores(v as number);
  if (key === 'memory' || key === 'disk') return humanSize(v as number);
  if (key === 'gpu') return String(v);
  return String(v);
}

/** What is in force now for a resource, or "-": the cgroup's settings, and the disk quota the filesystem holds. */
function inForce(key: (typeof RESOURCES)[number], u: UserView): string {
  if (key === 'disk') return diskInForce(u);
  const l = u.cgroup?.settings;
  if (!l) return '-';
  if (key === 'cpu') return quotaCores(l.cpuQuotaPerSecUsec);
  if (key === 'memory') return l.memoryMaxBytes === undefined ? '-' : humanSize(l.memoryMaxBytes);
  if (key === 'tasks') return orDash(l.tasksMax);
  return '-';
}

/** "1.2G used of 5G" per quota path, or the path's state when quotas are not enforced there. */
function diskInForce(u: UserView): string {
  const d = u.disk ?? [];
  if (d.length === 0) return '-';
  return d
    .map((p) => {
      if (p.state === 'off') return `${p.path}: quotas off`;
      const used = p.usedBytes === null ? '?' : humanSize(p.usedBytes);
      const limit = p.hardBytes ? humanSize(p.hardBytes) : 'no limit';
      return `${p.path}: ${used} used of ${limit}${p.state === 'accounting' ? ' (not enforced)' : ''}${p.overQuota ? ' OVER QUOTA' : ''}`;
    })
    .join('; ');
}

export function renderLimits(u: UserView, color = false): string {
  const rows = RESOURCES.map((k) => [k, allocationCell(k, u.allocation), orDash(u.sources?.[k]), inForce(k, u)]);
  return renderTable(['RESOURCE', 'ALLOCATION', 'SOURCE', 'IN FORCE'], rows, { bold: color });
}

export function renderUser(u: UserView, color = false): string {
  const cg = u.cgroup?.exists ? `active${u.cgroup.memoryCurrentBytes !== null ? `, ${humanSize(u.cgroup.memoryCurrentBytes)} memory in use` : ''}` : 'none (no session)';
  const fields = renderFields([
    ['User', `${u.name} (uid ${u.uid})`],
    ['Managed', `${yesNo(u.managed)}${u.inDatabase ? '' : ' (not in the database: defaults apply)'}`],
    ['Role', u.role],
    ['Enabled', yesNo(u.enabled)],
    ['Email', orDash(u.email)],
    ['Created', orDash(u.created)],
    ['Last login', orDash(u.lastLogin)],
    ['Cgroup', cg],
  ]);
  return `${fields}\n${renderLimits(u, color)}`;
}

export function renderUserList(users: readonly UserView[], color = false): string {
  const rows = users.map((u) => [u.name, String(u.uid), u.role, yesNo(u.enabled), ...RESOURCES.map((k) => allocationCell(k, u.allocation)), diskUsed(u)]);
  return renderTable(['NAME', 'UID', 'ROLE', 'ENABLED', 'CPU', 'MEMORY', 'DISK', 'GPU', 'TASKS', 'DISK USED'], rows, { right: [1, 4, 5, 6, 8, 9], bold: color });
}

/** The line under a page of users: "showing 51-100 of 10000 users" (1-based, inclusive). */
export function pageLine(p: { total: number; offset: number; users: readonly unknown[] }): string {
  if (p.users.length === 0) return `showing 0 of ${p.total} users${p.offset > 0 && p.total > 0 ? ` (offset ${p.offset} is past the end)` : ''}\n`;
  return `showing ${p.offset + 1}-${p.offset + p.users.length} of ${p.total} users\n`;
}

/** Disk used on all quota paths together, "-" where unknown; "!" marks a user over quota. */
function diskUsed(u: UserView): string {
  const known = (u.disk ?? []).filter((p) => p.usedBytes !== null);
  if (known.length === 0) return '-';
  return humanSize(known.reduce((n, p) => n + (p.usedBytes as number), 0)) + (known.some((p) => p.overQuota) ? '!' : '');
}

/** Users by live memory use, biggest first; users without a slice last. */
export function renderUsage(users: readonly UserView[], color = false): string {
  const used = (u: UserView): number => u.cgroup?.memoryCurrentBytes ?? -1;
  const rows = [...users]
    .sort((a, b) => used(b) - used(a) || a.name.localeCompare(b.name))
    .map((u) => [u.name, String(u.uid), u.role, yesNo(u.enabled), u.cgroup?.exists ? 'active' : '-', humanSize(u.cgroup?.memoryCurrentBytes), allocationCell('memory', u.allocation), allocationCell('cpu', u.allocation), diskUsed(u), allocationCell('disk', u.allocation)]);
  return renderTable(['NAME', 'UID', 'ROLE', 'ENABLED', 'SESSION', 'MEM USED', 'MEM MAX', 'CPU', 'DISK USED', 'DISK MAX'], rows, { right: [1, 5, 6, 7, 8, 9], bold: color });
}

export function renderReconcile(r: ReconcileReport): string {
  const lines = [`Reconciled ${r.slices} user cgroup(s), ${r.managed} managed, backend ${r.backend}, in ${r.durationMs} ms.`];
  if (!r.changed.length && !r.reverted.length && !r.errors.length && !(r.quotas ?? []).length && !(r.released ?? []).length) lines.push('Nothing changed.');
  if ((r.released ?? []).length) lines.push(`released: ${r.released.length} empty cgroup(s) (uid ${r.released.join(', ')})`);
  for (const q of r.quotas ?? []) lines.push(`quota: uid ${q.uid}${q.user ? ` (${q.user})` : ''} on ${q.path}`);
  for (const c of r.changed) lines.push(`changed: uid ${c.uid}${c.user ? ` (${c.user})` : ''}: ${c.properties.join(', ')}`);
  for (const uid of r.reverted) lines.push(`lifted: uid ${uid} (no longer managed)`);
  for (const e of r.errors) lines.push(`failed: uid ${e.uid}: ${e.error}`);
  return lines.join('\n') + '\n';
}

type Json = Record<string, unknown>;

/** ListProfiles: one row per role with its member count and effective allocation. */
export function renderProfiles(profiles: unknown, color = false): string {
  const list = asList(profiles, 'profiles');
  const rows = list.map((p) => {
    const a = (p.allocation ?? p.profile ?? p) as Partial<Allocation>;
    return [String(p.role ?? p.name ?? '?'), orDash(p.members as number | undefined), ...RESOURCES.map((k) => allocationCell(k, a))];
  });
  return renderTable(['ROLE', 'MEMBERS', 'CPU', 'MEMORY', 'DISK', 'GPU', 'TASKS'], rows, { right: [1, 2, 3, 4, 6], bold: color });
}

/** GetAuditLog rows (audit_log columns, in snake_case or camelCase). */
export function renderAudit(entries: unknown, color = false): string {
  const list = asList(entries, 'entries');
  const rows = list.map((e) => [
    orDash(e.at as string),
    orDash((e.callerUid ?? e.caller_uid) as number),
    orDash(e.action as string),
    orDash(e.target as string),
    orDash(e.result as string),
    orDash(e.detail as string),
  ]);
  return renderTable(['TIME', 'UID', 'ACTION', 'TARGET', 'RESULT', 'DETAIL'], rows, { right: [1], bold: color });
}

/** Accepts a bare array or an object holding the array under `key`. */
function asList(v: unknown, key: string): Json[] {
  if (Array.isArray(v)) return v as Json[];
  const inner = (v as Json | null)?.[key];
  return Array.isArray(inner) ? (inner as Json[]) : [];
}
