// diycloudctl request file|list|approve|deny: the "request more" queue (FileRequest, ListRequests, DecideRequest).

import type { Command } from 'commander';
import { Variant } from 'dbus-next';
import { act, callJson, emit } from '../action';
import { parseCount } from '../encode';
import { UsageError } from '../errors';
import { renderTable } from '../format';

interface LimitRequest {
  id: number; user: string; uid: number; resource: string; amount: string; reason: string; state: string;
  filedAt: string; decidedAt: string | null; decidedBy: number | null; decisionReason: string | null; applied: boolean; warnings?: string[];
}

const RESOURCES = ['cpu', 'memory', 'disk', 'gpu', 'tasks'];
const STATES = ['pending', 'approved', 'denied', 'all'];

/** A request id: 1..4294967295 (D-Bus u). */
export function parseRequestId(s: string): number {
  const n = parseCount(s, 'ID');
  if (n < 1n || n > 0xffffffffn) throw new UsageError(`ID: ${s} is out of range (1..4294967295)`);
  return Number(n);
}

/** ListRequests' options from the command line. */
export function encodeRequestQuery(o: { user?: string; state?: string; limit?: string; offset?: string }): Record<string, Variant> {
  const out: Record<string, Variant> = {};
  if (o.user !== undefined) out.user = new Variant('s', o.user);
  if (o.state !== undefined) {
    if (!STATES.includes(o.state)) throw new UsageError(`--state: expected ${STATES.join(', ')}, not "${o.state}"`);
    out.state = new Variant('s', o.state);
  }
  for (const [k, v, min] of [['limit', o.limit, 1n], ['offset', o.offset, 0n]] as const) {
    if (v === undefined) continue;
    const n = parseCount(v, `--${k}`);
    if (n < min || n > 0xffffffffn) throw new UsageError(`--${k}: ${v} is out of range (${min}..4294967295)`);
    out[k] = new Variant('u', Number(n));
  }
  return out;
}

async function decideCommand(ctx: Parameters<Parameters<typeof act>[0]>[0], rawId: string, approve: boolean, reason: string): Promise<void> {
  const r = await callJson<LimitRequest>(ctx, 'DecideRequest', 'ubs', [parseRequestId(rawId), approve, reason]);
  if (!ctx.json) for (const w of r.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  emit(ctx, r, () => `request ${r.id} ${r.state}${r.applied ? `: ${r.user}'s ${r.resource} is now ${r.amount}` : ''}\n`, true);
}

export function addRequestCommands(program: Command): void {
  const request = program
    .command('request')
    .description('the "request more" queue: ask for a higher limit, list requests, approve or deny them');

  request
    .command('file')
    .argument('<resource>', `what to raise: ${RESOURCES.join(', ')}`)
    .argument('<amount>', 'the amount, as limits set takes it (cpu 4, memory 16G, disk 100G, gpu all or 0,2, tasks 2000)')
    .requiredOption('--reason <text>', 'why you need it (1 to 500 characters)')
    .description('ask for a higher limit for yourself (the request is filed for the calling user)')
    .addHelpText('after', `
Examples:
  diycloudctl request file memory 16G --reason "training runs need more"
  diycloudctl request file cpu 4 --reason "parallel builds" --json`)
    .action(
      act(async (ctx, resource: string, amount: string, opts: { reason: string }) => {
        const r = await callJson<LimitRequest>(ctx, 'FileRequest', 'sss', [resource, amount, opts.reason]);
        emit(ctx, r, () => `request ${r.id} filed: ${r.resource} ${r.amount} (pending)\n`, true);
      }),
    );

  request
    .command('list')
    .description('list requests, newest first: your own, or everyone\'s with read-users')
    .option('--user <name>', "only this user's requests (yours need no authorization)")
    .option('--state <state>', `${STATES.join(', ')} (default all)`)
    .option('--limit <n>', 'at most this many (1..500, default 50)')
    .option('--offset <n>', 'skip this many first')
    .addHelpText('after', `
Examples:
  diycloudctl request list
  diycloudctl request list --state pending
  diycloudctl request list --user alice --json`)
    .action(
      act(async (ctx, opts: { user?: string; state?: string; limit?: string; offset?: string }) => {
        const r = await callJson<{ requests: LimitRequest[]; total: number }>(ctx, 'ListRequests', 'a{sv}', [encodeRequestQuery(opts)]);
        emit(ctx, r, () => (r.requests.length === 0 ? 'no requests\n' : renderTable(['ID', 'USER', 'RESOURCE', 'AMOUNT', 'STATE', 'FILED', 'REASON'],
          r.requests.map((q) => [String(q.id), q.user, q.resource, q.amount, q.state, q.filedAt, q.reason])) + (r.total > r.requests.length ? `(${r.requests.length} of ${r.total})\n` : '')));
      }),
    );

  request
    .command('approve')
    .argument('<id>', 'request id')
    .option('--reason <text>', 'a note for the requester', '')
    .description('approve a pending request: its limit is set as limits set would (needs manage-limits)')
    .addHelpText('after', `
Examples:
  diycloudctl request approve 12
  diycloudctl request approve 12 --reason "until the end of term"`)
    .action(act(async (ctx, id: string, opts: { reason: string }) => decideCommand(ctx, id, true, opts.reason)));

  request
    .command('deny')
    .argument('<id>', 'request id')
    .requiredOption('--reason <text>', 'why (1 to 500 characters; the requester sees it)')
    .description('deny a pending request (needs manage-limits)')
    .addHelpText('after', `
Examples:
  diycloudctl request deny 12 --reason "the GPU is booked this week"`)
    .action(act(async (ctx, id: string, opts: { reason: string }) => decideCommand(ctx, id, false, opts.reason)));
}
