// diycloudctl user …: list, show, add, del, enable, disable, role, adopt, email.

import { Option, type Command } from 'commander';
import { Variant } from 'dbus-next';
import type { UserView } from '../../../app/get-user';
import type { UserPage } from '../../../app/query-users';
import { act, callJson, callVoid, callWarn, emit } from '../action';
import { encodeCreateOptions, encodeDeleteOptions, encodeUserQuery, type CreateUserOptions, type UserQueryOptions } from '../encode';
import { userInfo } from 'node:os';
import { obtainPassword, processPasswordIo } from '../password';
import { UsageError } from '../errors';
import { addLimitOptions } from './limits';
import { pageLine, renderUser, renderUserList } from '../views';
import { renderEvents } from '../limits-view';

export function addUserCommands(program: Command): void {
  const user = program
    .command('user')
    .description('list, inspect and manage users')
    .addHelpText('after', `
Examples:
  diycloudctl user list --role student --enabled
  diycloudctl user show alice
  diycloudctl user add carol --email carol@example.org --role student
  diycloudctl user del carol --remove-home
  diycloudctl user adopt alice --role staff
  diycloudctl user disable bob --terminate`);

  user
    .command('list')
    .description('list the users diycloud manages, a page at a time (50 by default)')
    .option('--role <role>', 'only users with this role')
    .addOption(new Option('--enabled', 'only enabled users').conflicts('disabled'))
    .addOption(new Option('--disabled', 'only disabled users').conflicts('enabled'))
    .option('--search <text>', 'only users whose name or e-mail contains this (any case)')
    .option('--has-gpu', 'only users whose allocation grants a GPU')
    .option('--over-quota', 'only users over their disk quota on some path')
    .option('--sort <key>', 'sort by name, uid, role, memory (the memory limit), cpuUsage or memoryUsage (the latest sample)', 'name')
    .option('--desc', 'sort in descending order')
    .option('--limit <n>', 'users per page, 1..1000 (default 50)')
    .option('--offset <n>', 'skip this many users first (default 0)')
    .addHelpText('after', `
Examples:
  diycloudctl user list
  diycloudctl user list --disabled
  diycloudctl user list --search example.org --has-gpu
  diycloudctl user list --sort memory --desc --limit 10
  diycloudctl user list --offset 50                 the second page
  diycloudctl user list --role staff --json

The table ends with "showing A-B of TOTAL users" (not with --quiet); --json prints the daemon's
QueryUsers JSON: {"total","offset","limit","users":[...]}.`)
    .action(
      act(async (ctx, opts: UserQueryOptions) => {
        const page = await callJson<UserPage>(ctx, 'QueryUsers', 'a{sv}', [encodeUserQuery(opts)]);
        emit(ctx, page, () => renderUserList(page.users, ctx.color) + (ctx.quiet ? '' : pageLine(page)));
      }),
    );

  user
    .command('show')
    .argument('<name>', 'user name')
    .description("show a user's record, allocation, what the slice carries now, and recent limit events")
    .addHelpText('after', `
Examples:
  diycloudctl user show alice
  diycloudctl user show alice --json | jq .allocation`)
    .action(
      act(async (ctx, name: string) => {
        const u = await callJson<UserView>(ctx, 'GetUser', 's', [name]);
        emit(ctx, u, () => renderUser(u, ctx.color) + (u.events ? renderEvents(u.events, ctx.color) : ''));
      }),
    );

  const add = user
    .command('add')
    .argument('<name>', 'the new user name')
    .description('create a Unix account (home directory, user group, a UID never used before) managed by diycloud; prints its UID')
    .option('--email <email>', 'e-mail address', '')
    .option('--role <role>', 'role to give', 'user')
    .option('--shell <path>', 'login shell, one of [Accounts] Shells (default: the first of them)')
    .option('--password-stdin', 'read the password from the first line of stdin');
  addLimitOptions(add)
    .addHelpText('after', `
Examples:
  diycloudctl user add carol                                  asks for the password twice (on a terminal)
  diycloudctl user add carol --email carol@example.org --role student
  printf '%s\\n' "$PW" | diycloudctl user add dave --password-stdin
  diycloudctl user add erin --shell /bin/sh --cpu 2 --memory 8G --gpus 0
  diycloudctl user add frank < /dev/null                      no password: the account stays locked

The password is never taken from the command line. With --password-stdin it is the first line of
stdin; otherwise, when stdin is a terminal, it is asked for twice without echo; otherwise the
account is created without one (locked; a note on stderr says so unless --quiet). Limit options
set the user's own limits, as limits set does. Prints the new UID ({"uid":N} with --json).`)
    .action(
      act(async (ctx, name: string, opts: CreateUserOptions & { email: string; role: string; passwordStdin?: boolean }) => {
        encodeCreateOptions(opts, null); // a bad limit option is a usage error before any prompt
        const password = await obtainPassword(opts, processPasswordIo());
        const c = await ctx.client();
        const [uid] = await c.call('CreateUser', 'sssa{sv}', [name, opts.email, opts.role, encodeCreateOptions(opts, password)], { interactive: await ctx.interactive() });
        if (password === null && !ctx.quiet) {
          process.stderr.write(`diycloudctl: created ${name} without a password (stdin is not a terminal and no --password-stdin): the account stays locked until a password is set\n`);
        }
        emit(ctx, { uid: Number(uid) }, () => `${Number(uid)}\n`);
      }),
    );

  user
    .command('del')
    .argument('<name>', 'a user diycloud manages')
    .option('--force', 'end the running sessions first (without it, a user with sessions is refused: exit 10)')
    .option('--remove-home', 'also remove the home directory')
    .description('delete a managed user: the Unix account, its database rows and its limits (the audit log stays)')
    .addHelpText('after', `
Examples:
  diycloudctl user del carol
  diycloudctl user del carol --remove-home
  diycloudctl user del dave --force --remove-home     also ends dave's sessions`)
    .action(
      act(async (ctx, name: string, opts: { force?: boolean; removeHome?: boolean }) => callVoid(ctx, 'DeleteUser', 'sa{sv}', [name, encodeDeleteOptions(opts)])),
    );

  user
    .command('passwd')
    .argument('<name>', 'a user diycloud manages')
    .option('--password-stdin', 'read the new password from the first line of stdin (administrators)')
    .description("set a user's password: administrators directly, a user by giving the current password")
    .addHelpText('after', `
Examples:
  diycloudctl user passwd alice                      as root or an admin: asks for the new password twice
  printf '%s\\n' "$PW" | diycloudctl user passwd alice --password-stdin
  diycloudctl user passwd "$USER"                    your own: asks for the current password first

The password is never taken from the command line. Changing your own password needs a terminal.`)
    .action(
      act(async (ctx, name: string, opts: { passwordStdin?: boolean }) => {
        const io = processPasswordIo();
        const own = process.getuid?.() !== 0 && userInfo().username === name;
        if (own && !io.stdinIsTty) throw new UsageError('changing your own password needs a terminal (the current password is asked for)');
        const old = own ? await io.prompt('Current password: ') : '';
        const password = await obtainPassword(opts, io);
        if (password === null) throw new UsageError('no password given: run on a terminal, or use --password-stdin');
        await callVoid(ctx, 'SetPassword', 'sss', [name, password, old]);
      }),
    );

  user
    .command('enable')
    .argument('<name>', 'user name')
    .description('let a user log in again')
    .addHelpText('after', `
Example:
  diycloudctl user enable alice`)
    .action(act(async (ctx, name: string) => callVoid(ctx, 'SetEnabled', 'sba{sv}', [name, true, {}])));

  user
    .command('disable')
    .argument('<name>', 'user name')
    .option('--terminate', 'also end the running sessions')
    .description('refuse further logins of a user')
    .addHelpText('after', `
Examples:
  diycloudctl user disable alice
  diycloudctl user disable alice --terminate     also ends alice's sessions`)
    .action(
      act(async (ctx, name: string, opts: { terminate?: boolean }) =>
        callVoid(ctx, 'SetEnabled', 'sba{sv}', [name, false, opts.terminate ? { terminate: new Variant('b', true) } : {}]),
      ),
    );

  user
    .command('role')
    .argument('<name>', 'user name')
    .argument('<role>', 'the new role')
    .description("change a user's role (and its Unix group)")
    .addHelpText('after', `
Example:
  diycloudctl user role alice staff`)
    .action(act(async (ctx, name: string, role: string) => callWarn(ctx, 'SetRole', 'ss', [name, role])));

  user
    .command('adopt')
    .argument('<name>', 'an existing user (local, LDAP, SSSD)')
    .option('--role <role>', 'role to give', 'user')
    .description('take an existing account under management, without touching the account')
    .addHelpText('after', `
Examples:
  diycloudctl user adopt alice
  diycloudctl user adopt bob --role staff`)
    .action(act(async (ctx, name: string, opts: { role: string }) => callVoid(ctx, 'AdoptUser', 'ss', [name, opts.role])));

  user
    .command('email')
    .argument('<name>', 'user name')
    .argument('<email>', 'address; "" clears it')
    .description("set a user's e-mail address")
    .addHelpText('after', `
Examples:
  diycloudctl user email alice alice@example.org
  diycloudctl user email alice ''                 clears it`)
    .action(act(async (ctx, name: string, email: string) => callVoid(ctx, 'SetEmail', 'ss', [name, email])));
}
