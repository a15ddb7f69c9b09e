// Pure: `diycloudctl limits [show]`: a user's allocation with its sources, live use, and recent limit events.

import type { UserView } from '../../app/get-user';
import { humanSize, renderTable } from './format';
import { renderLimits } from './views';

/**
 * A limit event as GetUser lists it (docs/dbus-api.md). The time is `atUsec` (µs since the epoch)
 * or `at` (ISO 8601); either may be missing in a daemon of another version, so both are read.
 */
export interface LimitEventView {
  atUsec?: number;
  at?: string;
  resource: string;
  kind: string;
  count: number;
  path?: string | null;
  message?: string;
}

/** GetUser's reply with the events a daemon that records them adds. */
export type LimitsView = UserView & { events?: LimitEventView[] };

/** The JSON of `limits show --json`: what the text shows, nothing more. */
export function limitsJson(u: LimitsView): Record<string, unknown> {
  const out: Record<string, unknown> = { name: u.name, uid: u.uid, role: u.role, allocation: u.allocation, sources: u.sources, cgroup: u.cgroup, disk: u.disk };
  if (u.events) out.events = u.events;
  return out;
}

/** The allocation table (values, sources, what is in force), then live use and, when the daemon records them, limit events. */
export function renderOwnLimits(u: LimitsView, color = false): string {
  const parts = [`${u.name} (uid ${u.uid}), role ${u.role}\n`, renderLimits(u, color), `\n${renderUse(u)}\n`];
  if (u.events) parts.push(renderEvents(u.events, color));
  return parts.join('');
}

/** "In use: memory 1.2G (30% of 4G), 12 tasks, 1m 3s of CPU time": the cgroup's live counters. */
export function renderUse(u: UserView): string {
  const cg = u.cgroup;
  if (!cg?.exists) return 'In use: nothing (no session or job is running)';
  const bits: string[] = [];
  if (cg.memoryCurrentBytes !== null) bits.push(`memory ${humanSize(Math.round(cg.memoryCurrentBytes))}${u.allocation.memory > 0 ? ` (${percent(cg.memoryCurrentBytes, u.allocation.memory)} of ${humanSize(u.allocation.memory)})` : ''}`);
  if (cg.tasksCurrent !== null) bits.push(`${cg.tasksCurrent} ${cg.tasksCurrent === 1 ? 'task' : 'tasks'}${u.allocation.tasks ? ` of ${u.allocation.tasks}` : ''}`);
  if (cg.cpuUsageNsec !== null) bits.push(`${duration(cg.cpuUsageNsec / 1e9)} of CPU time`);
  return `In use: ${bits.length ? bits.join(', ') : 'a session is running (the kernel does not count its use here)'}`;
}

/** The events, newest first, as a table; "none" when the daemon records events and has none. */
export function renderEvents(events: readonly LimitEventView[], color = false): string {
  if (events.length === 0) return '\nRecent limit events: none\n';
  const rows = [...events]
    .map((e) => ({ e, ms: eventMs(e) }))
    .sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0))
    .map(({ e, ms }) => [ms === null ? '-' : localTime(ms), e.path ? `${e.resource} ${e.path}` : e.resource, e.kind, String(e.count), e.message ?? ''].map(printable));
  return `\nRecent limit events:\n${renderTable(['TIME', 'RESOURCE', 'KIND', 'COUNT', 'MESSAGE'], rows, { right: [3], bold: color })}`;
}

/** An event's time in ms since the epoch, from atUsec or at; null when neither is usable. */
export function eventMs(e: LimitEventView): number | null {
  if (typeof e.atUsec === 'number' && Number.isFinite(e.atUsec)) return Math.floor(e.atUsec / 1000);
  const t = typeof e.at === 'string' ? Date.parse(e.at) : NaN;
  return Number.isFinite(t) ? t : null;
}

function percent(used: number, limit: number): string {
  return `${Math.round((used / limit) * 100)}%`;
}

/** Seconds as "42s", "3m 5s", "2h 10m", "3d 4h". */
export function duration(sec: number): string {
  const s = Math.floor(sec);
  if (s < 60) return `${Math.round(sec * 10) / 10}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** "2026-12-02 01:23:05" in local time. */
function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Event text comes from the daemon, but a terminal must never get control characters from a reply. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
