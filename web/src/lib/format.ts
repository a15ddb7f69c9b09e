// Pure formatting for the portal: bytes, cores, percent, limit sources, usage bars. No DOM.
import type { LiveUsage } from './types';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.5 KiB"; null/undefined -> "–". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  if (bytes < 0) return '–';
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  const digits = i === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${Number(v.toFixed(digits))} ${UNITS[i]}`;
}

/** Cores: 1 -> "1 core", 2.5 -> "2.5 cores". */
export function formatCores(cores: number | null | undefined): string {
  if (cores === null || cores === undefined || !Number.isFinite(cores)) return '–';
  const n = Number(cores.toFixed(2));
  return `${n} ${n === 1 ? 'core' : 'cores'}`;
}

/** 0.4567 -> "45.7 %" (a fraction). */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '–';
  const p = fraction * 100;
  return `${Number(p.toFixed(p >= 10 ? 0 : 1))} %`;
}

export type LimitSource = 'user' | 'role' | 'default';

/** Where a limit comes from, for people. */
export function sourceLabel(source: string, role?: string): string {
  switch (source) {
    case 'user': return 'set for this user';
    case 'role': return role ? `from the ${role} profile` : 'from the role profile';
    case 'default': return 'server default';
    default: return 'unknown source';
  }
}

export interface Bar {
  /** used / limit, clamped to 0..1, for the bar's width. */
  fraction: number;
  /** used / limit unclamped (may be > 1), or null when there is no finite limit. */
  ratio: number | null;
  level: 'ok' | 'warn' | 'over' | 'none';
}

/** Usage against a limit. limit 0, null or not finite: no bar ("no limit"). */
export function usageBar(used: number | null | undefined, limit: number | null | undefined): Bar {
  if (limit === null || limit === undefined || !Number.isFinite(limit) || limit <= 0) {
    return { fraction: 0, ratio: null, level: 'none' };
  }
  const u = used !== null && used !== undefined && Number.isFinite(used) && used > 0 ? used : 0;
  const ratio = u / limit;
  const fraction = Math.min(1, ratio);
  const level = ratio >= 1 ? 'over' : ratio >= 0.8 ? 'warn' : 'ok';
  return { fraction, ratio, level };
}

/** CPU: cpuPercent is 100 per core; the bar is against cores * 100. */
export function cpuBar(cpuPercent: number | null | undefined, cores: number): Bar {
  return usageBar(cpuPercent, cores * 100);
}

/** Width class step (0..20, 5 % each) so the bar width is a CSS class, not an inline style. */
export function barStep(b: Bar): number {
  return Math.round(b.fraction * 20);
}

/** GPU grant text: "none", "all", "0,2". */
export function gpuCount(grant: string): number | 'all' {
  if (grant === 'all') return 'all';
  if (!grant || grant === 'none') return 0;
  return grant.split(',').filter((s) => s.trim() !== '').length;
}

export function formatGpu(grant: string): string {
  const n = gpuCount(grant);
  if (n === 'all') return 'all GPUs';
  if (n === 0) return 'no GPU';
  return `GPU ${grant.split(',').join(', ')}`;
}

/** An ISO time as local, short; invalid -> the input. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** What the live figures are: waiting, live, live but not measured by this host, or no live cgroup. */
export function liveLine(live: LiveUsage | null): string {
  if (!live) return 'Waiting for live usage…';
  if (live.live && live.measured === false) return 'Logged in, but this host does not measure CPU and memory use (its cgroups have no cpu or memory controller).';
  return live.live ? 'Live: updated every few seconds.' : 'Not logged in: no live usage.';
}
