// diycloudctl reconcile: re-applies every allocation now and prints what changed.

import type { Command } from 'commander';
import type { ReconcileReport } from '../../../app/reconcile';
import { act, callJson, emit } from '../action';
import { renderReconcile } from '../views';

export function addReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description('re-apply every allocation to every user slice and lift stale limits')
    .addHelpText('after', `
Examples:
  diycloudctl reconcile
  diycloudctl reconcile --json | jq .changed

Per-slice failures are listed in the report; the exit status is 0 when the run itself completed.`)
    .action(
      act(async (ctx) => {
        const report = await callJson<ReconcileReport>(ctx, 'Reconcile', '', []);
        emit(ctx, report, () => renderReconcile(report), true);
      }),
    );
}
