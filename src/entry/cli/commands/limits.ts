// diycloudctl limits … and profile …: a user's own limits, and the role profiles.

import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { act, callJson, callWarn, emit } from '../action';
import { encodeGpuRevoke, encodeLimits, type LimitOptions } from '../encode';
import { limitsJson, renderOwnLimits, type LimitsView } from '../limits-view';
import { renderProfiles } from '../views';

/** --cpu, --memory, --disk, --gpus (with --gpu/--no-gpu, the old flags, for all/none), --tasks (limits set and profile set). */
export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option('--cpu <cores>', 'CPU cores (e.g. 2 or 0.5)')
    .option('--memory <size>', 'memory (e.g. 4G, 512M)')
    .option('--disk <size>', 'disk quota (e.g. 20G)')
    .option('--gpus <which>', 'GPUs the user may open: none, all, or indices (e.g. 0,2; see diycloudctl status)')
    .option('--gpu', 'the same as --gpus all')
    .option('--no-gpu', 'the same as --gpus none')
    .option('--tasks <n>', 'maximum number of tasks (processes and threads)');
}

export function addLimitsCommands(program: Command): void {
  const limits = program
    .command('limits')
    .description("show and change a user's own limits")
    .addHelpText('after', `
Examples:
  diycloudctl limits                 your own allocation, live use and limit events
  diycloudctl limits show alice
  diycloudctl limits set alice --cpu 2 --memory 4G
  diycloudctl limits reset alice`);

  addLimitsShow(limits);

  addLimitOptions(limits.command('set').argument('<name>', 'user name'))
    .option('--gpu-revoke <mode>', 'when --gpus takes a GPU away from running processes: report (default: they keep the open device, the reply names them) or kill')
    .description("set a user's own limits over the role profile (applied at once to a live cgroup, and to the disk quota)")
    .addHelpText('after', `
Examples:
  diycloudctl limits set alice --cpu 2 --memory 4G
  diycloudctl limits set alice --disk 50G --gpus 0,2
  diycloudctl limits set bob --tasks 500 --gpus none
  diycloudctl limits set carol --gpus none --gpu-revoke kill

At least one option is required. Sizes are binary (1G = 1024M), as in systemd. The device cgroup
stops new opens at once; a process that already holds a GPU open keeps it (docs/gpu.md), so
--gpu-revoke kill ends the user's processes that hold a GPU the change takes away.`)
    .action(
      act(async (ctx, name: string, opts: LimitOptions & { gpuRevoke?: string }) => {
        const dict = encodeLimits(opts);
        if (opts.gpuRevoke !== undefined) dict.gpuRevoke = encodeGpuRevoke(opts.gpuRevoke);
        await callWarn(ctx, 'SetLimits', 'sa{sv}', [name, dict]);
      }),
    );

  limits
    .command('reset')
    .argument('<name>', 'user name')
    .description("drop a user's own limits: the role profile applies again")
    .addHelpText('after', `
Example:
  diycloudctl limits reset alice`)
    .action(act(async (ctx, name: string) => callWarn(ctx, 'ResetLimits', 's', [name])));
}

/**
 * `limits show [name]`, also what a bare `limits` runs: without a name, the calling user's own
 * record, which GetUser gives anyone without a polkit action (the name is looked up locally; the
 * daemon checks it against the caller's uid from the bus).
 */
function addLimitsShow(limits: Command): void {
  limits
    .command('show', { isDefault: true })
    .argument('[name]', 'user name (default: you)')
    .description('show an allocation, where each value comes from (user, role, default), what is in force, live use and recent limit events')
    .addHelpText('after', `
Examples:
  diycloudctl limits show            your own (no privileges needed)
  diycloudctl limits show alice      another user's (root, or org.diycloud.read-users)
  diycloudctl limits --json`)
    .action(
      act(async (ctx, name: string | undefined) => {
        const u = await callJson<LimitsView>(ctx, 'GetUser', 's', [name ?? userInfo().username]);
        emit(ctx, limitsJson(u), () => renderOwnLimits(u, ctx.color));
      }),
    );
}

export function addProfileCommands(program: Command): void {
  const profile = program
    .command('profile')
    .description('show and change the resource profiles of roles')
    .addHelpText('after', `
Examples:
  diycloudctl profile list
  diycloudctl profile set student --cpu 1 --memory 2G`);

  profile
    .command('list')
    .description('list every role with its profile and effective allocation')
    .addHelpText('after', `
Examples:
  diycloudctl profile list
  diycloudctl profile list --json`)
    .action(
      act(async (ctx) => {
        const profiles = await callJson<unknown>(ctx, 'ListProfiles', '', []);
        emit(ctx, profiles, () => renderProfiles(profiles, ctx.color));
      }),
    );

  addLimitOptions(profile.command('set').argument('<role>', 'role name (created if needed)'))
    .description("set a role's resource profile")
    .addHelpText('after', `
Examples:
  diycloudctl profile set student --cpu 1 --memory 2G --disk 10G
  diycloudctl profile set staff --cpu 4 --memory 16G --gpus all

At least one option is required.`)
    .action(
      act(async (ctx, role: string, opts: LimitOptions) => {
        const dict = encodeLimits(opts);
        await callWarn(ctx, 'SetProfile', 'sa{sv}', [role, dict]);
      }),
    );
}
