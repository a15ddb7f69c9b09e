// diycloudctl audit: the audit log, newest first.

import type { Command } from 'commander';
import { act, callJson, emit } from '../action';
import { encodeAuditFilter } from '../encode';
import { renderAudit } from '../views';

export function addAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('show the audit log, newest first')
    .option('--user <name>', 'only entries about this user')
    .option('--limit <n>', 'at most this many entries (the daemon defaults to 100)')
    .addHelpText('after', `
Examples:
  diycloudctl audit
  diycloudctl audit --user alice --limit 20
  diycloudctl audit --json`)
    .action(
      act(async (ctx, opts: { user?: string; limit?: string }) => {
        const filter = encodeAuditFilter(opts);
        const entries = await callJson<unknown>(ctx, 'GetAuditLog', 'a{sv}', [filter]);
        emit(ctx, entries, () => renderAudit(entries, ctx.color));
      }),
    );
}
