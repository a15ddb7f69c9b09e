// diycloudctl user …: list, show, enable, disable, role, adopt, email.

import { Option, type Command } from 'commander';
import { Variant } from 'dbus-next';
import type { UserView } from '../../../app/get-user';
import { act, callJson, callVoid, emit } from '../action';
import { encodeUserFilter } from '../encode';
import { renderUser, renderUserList } from '../views';

export function addUserCommands(program: Command): void {
  const user = program
    .command('user')
    .description('list, inspect and manage users')
    .addHelpText('after', `
Examples:
  diycloudctl user list --role student --enabled
  diycloudctl user show alice
  diycloudctl user adopt alice --role staff
  diycloudctl user disable bob --terminate`);

  user
    .command('list')
    .description('list the users diycloud manages')
    .option('--role <role>', 'only users with this role')
    .addOption(new Option('--enabled', 'only enabled users').conflicts('disabled'))
    .addOption(new Option('--disabled', 'only disabled users').conflicts('enabled'))
    .addHelpText('after', `
Examples:
  diycloudctl user list
  diycloudctl user list --disabled
  diycloudctl user list --role staff --json`)
    .action(
      act(async (ctx, opts: { role?: string; enabled?: boolean; disabled?: boolean }) => {
        const users = await callJson<UserView[]>(ctx, 'ListUsers', 'a{sv}', [encodeUserFilter(opts)]);
        emit(ctx, users, () => renderUserList(users, ctx.color));
      }),
    );

  user
    .command('show')
    .argument('<name>', 'user name')
    .description("show a user's record, allocation and what the slice carries now")
    .addHelpText('after', `
Examples:
  diycloudctl user show alice
  diycloudctl user show alice --json | jq .allocation`)
    .action(
      act(async (ctx, name: string) => {
        const u = await callJson<UserView>(ctx, 'GetUser', 's', [name]);
        emit(ctx, u, () => renderUser(u, ctx.color));
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
    .action(act(async (ctx, name: string, role: string) => callVoid(ctx, 'SetRole', 'ss', [name, role])));

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
