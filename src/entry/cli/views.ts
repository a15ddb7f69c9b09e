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
  if (key === 'gpu') return yesNo(v as boolean);
  return String(v);
}

/** What the slice carries now for a resource, or "-" (diycloud enforces cpu, memory and tasks). */
function inForce(key: (typeof RESOURCES)[number], u: UserView): string {
  const l = u.slice?.limits;
  if (!l) return '-';
  if (key === 'cpu') return quotaCores(l.CPUQuotaPerSecUSec);
  if (key === 'memory') return l.MemoryMax === undefined ? '-' : humanSize(l.MemoryMax);
  if (key === 'tasks') return orDash(l.TasksMax);
  return '-';
}

export function renderLimits(u: UserView, color = false): string {
  const rows = RESOURCES.map((k) => [k, allocationCell(k, u.allocation), orDash(u.sources?.[k]), inForce(k, u)]);
  return renderTable(['RESOURCE', 'ALLOCATION', 'SOURCE', 'IN FORCE'], rows, { bold: color });
}

export function renderUser(u: UserView, color = false): string {
  const slice = u.slice?.exists ? `user-${u.uid}.slice${u.slice.memoryCurrent !== null ? `, ${humanSize(u.slice.memoryCurrent)} memory in use` : ''}` : 'none (no session)';
  const fields = renderFields([
    ['User', `${u.name} (uid ${u.uid})`],
    ['Managed', `${yesNo(u.managed)}${u.inDatabase ? '' : ' (not in the database: defaults apply)'}`],
    ['Role', u.role],
    ['Enabled', yesNo(u.enabled)],
    ['Email', orDash(u.email)],
    ['Created', orDash(u.created)],
    ['Last login', orDash(u.lastLogin)],
    ['Slice', slice],
  ]);
  return `${fields}\n${renderLimits(u, color)}`;
}

export function renderUserList(users: readonly UserView[], color = false): string {
  const rows = users.map((u) => [u.name, String(u.uid), u.role, yesNo(u.enabled), ...RESOURCES.map((k) => allocationCell(k, u.allocation))]);
  return renderTable(['NAME', 'UID', 'ROLE', 'ENABLED', 'CPU', 'MEMORY', 'DISK', 'GPU', 'TASKS'], rows, { right: [1, 4, 5, 6, 8], bold: color });
}

/** Users by live memory use, biggest first; users without a slice last. */
export function renderUsage(users: readonly UserView[], color = false): string {
  const used = (u: UserView): number => u.slice?.memoryCurrent ?? -1;
  const rows = [...users]
    .sort((a, b) => used(b) - used(a) || a.name.localeCompare(b.name))
    .map((u) => [u.name, String(u.uid), u.role, yesNo(u.enabled), u.slice?.exists ? 'active' : '-', humanSize(u.slice?.memoryCurrent), allocationCell('memory', u.allocation), allocationCell('cpu', u.allocation)]);
  return renderTable(['NAME', 'UID', 'ROLE', 'ENABLED', 'SLICE', 'MEM USED', 'MEM MAX', 'CPU'], rows, { right: [1, 5, 6, 7], bold: color });
}

export function renderReconcile(r: ReconcileReport): string {
  const lines = [`Reconciled ${r.slices} user slice(s), ${r.managed} managed, backend ${r.backend}, in ${r.durationMs} ms.`];
  if (!r.changed.length && !r.reverted.length && !r.errors.length) lines.push('Nothing changed.');
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
