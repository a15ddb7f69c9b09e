// diycloudctl limits … and profile …: a user's own limits, and the role profiles.

import type { Command } from 'commander';
import type { UserView } from '../../../app/get-user';
import { act, callJson, callWarn, emit } from '../action';
import { encodeLimits, type LimitOptions } from '../encode';
import { renderLimits, renderProfiles } from '../views';

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
  diycloudctl limits show alice
  diycloudctl limits set alice --cpu 2 --memory 4G
  diycloudctl limits reset alice`);

  limits
    .command('show')
    .argument('<name>', 'user name')
    .description("show a user's effective allocation, where each value comes from, and what is in force")
    .addHelpText('after', `
Example:
  diycloudctl limits show alice`)
    .action(
      act(async (ctx, name: string) => {
        const u = await callJson<UserView>(ctx, 'GetUser', 's', [name]);
        emit(ctx, { name: u.name, uid: u.uid, allocation: u.allocation, sources: u.sources, cgroup: u.cgroup, disk: u.disk }, () => renderLimits(u, ctx.color));
      }),
    );

  addLimitOptions(limits.command('set').argument('<name>', 'user name'))
    .description("set a user's own limits over the role profile (applied at once to a live cgroup, and to the disk quota)")
    .addHelpText('after', `
Examples:
  diycloudctl limits set alice --cpu 2 --memory 4G
  diycloudctl limits set alice --disk 50G --gpus 0,2
  diycloudctl limits set bob --tasks 500 --gpus none

At least one option is required. Sizes are binary (1G = 1024M), as in systemd.`)
    .action(
      act(async (ctx, name: string, opts: LimitOptions) => {
        const dict = encodeLimits(opts);
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
