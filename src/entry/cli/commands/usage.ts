// diycloudctl usage, host, events and user sessions: the portal's reads (GetUsageHistory, GetUsage, GetHostSummary, GetLimitEvents, ListSessions).

import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { act, callJson, emit } from '../action';
import { encodeAuditFilter } from '../encode';
import { UsageError } from '../errors';
import { humanSize, orDash, renderFields, renderTable } from '../format';

interface History { user: string; range: string; stepSec: number; points: { t: string; cpuPercent: number; memoryBytes: number; diskBytes: number | null; tasks: number | null }[] }
interface Now { sampledAt: string | null; users: Record<string, { cpuPercent: number; memoryBytes: number; diskBytes: number | null; tasks: number | null; live: boolean }> }
interface Host {
  cpu: { capacityCores: number; allocatedCores: number; usedPercent: number };
  memory: { capacityBytes: number; allocatedBytes: number; usedBytes: number };
  disk: { path: string; capacityBytes: number | null; allocatedBytes: number; usedBytes: number | null }[];
  gpus: { index: number; name: string | null; holders: string[] }[];
  overcommit: { cpu: number; memory: number };
  over: { user: string; resource: string; usage: number; limit: number; level: string }[];
}

const BARS = ' ▁▂▃▄▅▆▇█';
/** One line of bars scaled to the largest value (at most `width` points: evenly picked). */
export function sparkline(values: readonly number[], width = 60): string {
  if (values.length === 0) return '';
  const step = Math.max(1, Math.ceil(values.length / width));
  const picked = values.filter((_, i) => i % step === 0);
  const max = Math.max(...picked, 1e-9);
  return picked.map((v) => BARS[Math.round((v / max) * (BARS.length - 1))]).join('');
}

export function addUsageCommands(program: Command): void {
  program
    .command('usage')
    .argument('[user]', 'user name (default: yourself)')
    .description("show a user's usage history (CPU, memory) over the last hour, day or week, or the latest sample with --now")
    .option('--range <range>', 'hour, day or week', 'hour')
    .option('--now', 'only the latest sample (GetUsage)')
    .addHelpText('after', `
Examples:
  diycloudctl usage                      your last hour
  diycloudctl usage alice --range week
  diycloudctl usage alice --now --json`)
    .action(
      act(async (ctx, name: string | undefined, opts: { range: string; now?: boolean }) => {
        const user = name ?? userInfo().username;
        if (opts.now) {
          const n = await callJson<Now>(ctx, 'GetUsage', 'as', [[user]]);
          const u = n.users[user];
          emit(ctx, n, () => renderFields([['User', user], ['Sampled', orDash(n.sampledAt)], ['Live', u.live ? 'yes' : 'no'], ['CPU', `${u.cpuPercent} %`], ['Memory', humanSize(u.memoryBytes)], ['Disk', humanSize(u.diskBytes)], ['Tasks', orDash(u.tasks)]]));
          return;
        }
        if (!['hour', 'day', 'week'].includes(opts.range)) throw new UsageError(`--range: expected hour, day or week, not "${opts.range}"`);
        const h = await callJson<History>(ctx, 'GetUsageHistory', 'ss', [user, opts.range]);
        emit(ctx, h, () => {
          if (h.points.length === 0) return `${h.user}: no samples in the last ${h.range}\n`;
          const last = h.points[h.points.length - 1];
          const maxCpu = Math.max(...h.points.map((p) => p.cpuPercent));
          const maxMem = Math.max(...h.points.map((p) => p.memoryBytes));
          return `${h.user}, last ${h.range} (${h.points.length} points, every ${h.stepSec} s), ${h.points[0].t} .. ${last.t}\n` +
            `CPU    ${sparkline(h.points.map((p) => p.cpuPercent))}  now ${last.cpuPercent} %, max ${maxCpu} %\n` +
            `Memory ${sparkline(h.points.map((p) => p.memoryBytes))}  now ${humanSize(last.memoryBytes)}, max ${humanSize(maxMem)}\n`;
        });
      }),
    );

  program
    .command('host')
    .description('show the host: capacity, allocations and use of CPU, memory, disk; GPU holders; who is near or over a limit')
    .addHelpText('after', `
Examples:
  diycloudctl host
  diycloudctl host --json | jq .overcommit`)
    .action(
      act(async (ctx) => {
        const h = await callJson<Host>(ctx, 'GetHostSummary', '', []);
        emit(ctx, h, () => {
          const rows = [
            ['cpu', `${h.cpu.capacityCores} cores`, `${h.cpu.allocatedCores} cores`, `${h.cpu.usedPercent} %`, `${h.overcommit.cpu}`],
            ['memory', humanSize(h.memory.capacityBytes), humanSize(h.memory.allocatedBytes), humanSize(h.memory.usedBytes), `${h.overcommit.memory}`],
            ...h.disk.map((d) => [`disk ${d.path}`, humanSize(d.capacityBytes), humanSize(d.allocatedBytes), humanSize(d.usedBytes), d.capacityBytes ? `${Math.round((d.allocatedBytes / d.capacityBytes) * 1000) / 1000}` : '-']),
          ];
          let out = renderTable(['RESOURCE', 'CAPACITY', 'ALLOCATED', 'USED', 'OVERCOMMIT'], rows);
          if (h.gpus.length) out += '\n' + renderTable(['GPU', 'NAME', 'HOLDERS'], h.gpus.map((g) => [String(g.index), orDash(g.name), g.holders.join(', ') || '-']));
          if (h.over.length) out += '\n' + renderTable(['USER', 'RESOURCE', 'LEVEL', 'USAGE', 'LIMIT'], h.over.map((o) => [o.user, o.resource, o.level, String(o.usage), String(o.limit)]));
          return out;
        });
      }),
    );

  program
    .command('events')
    .description('show limit events (OOM kills, throttling, task limit, quota), newest first')
    .option('--user <name>', "only this user's events (yours need no authorization)")
    .option('--limit <n>', 'at most this many (1..500, default 50)')
    .addHelpText('after', `
Examples:
  diycloudctl events --limit 20
  diycloudctl events --user alice --json`)
    .action(
      act(async (ctx, opts: { user?: string; limit?: string }) => {
        const r = await callJson<{ events: { at: string; user: string | null; uid: number; detail: string }[] }>(ctx, 'GetLimitEvents', 'a{sv}', [encodeAuditFilter(opts)]);
        emit(ctx, r, () => renderTable(['AT', 'USER', 'EVENT'], r.events.map((e) => [e.at, e.user ?? `uid ${e.uid}`, e.detail])));
      }),
    );

  const user = program.commands.find((c) => c.name() === 'user');
  if (!user) throw new Error('the user command must be added first');
  user
    .command('sessions')
    .argument('<name>', 'user name')
    .description("show a user's login sessions, newest first (at most 100)")
    .addHelpText('after', `
Examples:
  diycloudctl user sessions alice
  diycloudctl user sessions alice --json`)
    .action(
      act(async (ctx, name: string) => {
        const r = await callJson<{ sessions: { service: string; tty: string; rhost: string; openedAt: string; closedAt: string | null }[] }>(ctx, 'ListSessions', 's', [name]);
        emit(ctx, r, () => renderTable(['SERVICE', 'TTY', 'FROM', 'OPENED', 'CLOSED'], r.sessions.map((s) => [s.service, s.tty || '-', s.rhost || '-', s.openedAt, s.closedAt ?? 'open'])));
      }),
    );
}
