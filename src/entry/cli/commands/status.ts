// diycloudctl status: the daemon's version, backend and GPUs, and the managed users by live memory use.

import type { Command } from 'commander';
import type { UserView } from '../../../app/get-user';
import type { GpuInventory } from '../../../core/gpu';
import { act, callJson, emit } from '../action';
import { renderUsage } from '../views';

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show the daemon, its backend and the managed users by live usage')
    .addHelpText('after', `
Examples:
  diycloudctl status
  diycloudctl status --json | jq '.users[] | select(.cgroup.exists)'`)
    .action(
      act(async (ctx) => {
        const props = await (await ctx.client()).properties();
        const users = await callJson<UserView[]>(ctx, 'ListUsers', 'a{sv}', [{}]);
        const active = users.filter((u) => u.cgroup?.exists).length;
        const gpus = JSON.parse(String(props.Gpus ?? '{"devices":[],"enforceable":false,"reason":"unknown"}')) as GpuInventory;
        const doc = { version: props.Version, backend: props.Backend, gpus, userCount: users.length, activeCount: active, users };
        emit(ctx, doc, () => {
          const gpuLine = `GPUs: ${gpus.devices.length ? gpus.devices.map((d) => d.model ?? d.busId ?? `#${d.index}`).join(', ') : 'none'}; ${gpus.reason}${gpus.enforcement ? `; kernel: ${gpus.enforcement.reason}` : ''}\n`;
          const head = ctx.quiet ? '' : `diycloudd ${String(props.Version)}, backend ${String(props.Backend)}\n${gpuLine}Users: ${users.length} managed, ${active} with a live cgroup\n\n`;
          return head + (users.length ? renderUsage(users, ctx.color) : '');
        });
      }),
    );
}
