// The diycloudctl command tree: global options, usage errors as exit 2, and every command.

import { Command, CommanderError } from 'commander';
import { addAuditCommand } from './commands/audit';
import { addDoctorCommand } from './commands/doctor';
import { addLimitsCommands, addProfileCommands } from './commands/limits';
import { addPamCommand } from './commands/pam';
import { addReconcileCommand } from './commands/reconcile';
import { addRequestCommands } from './commands/request';
import { addStatusCommand } from './commands/status';
import { addUserCommands } from './commands/user';
import { addUsageCommands } from './commands/usage';
import { addWebCommand } from './commands/web';
import { EXIT_USAGE } from './errors';

export function buildProgram(version: string): Command {
  const program = new Command('diycloudctl')
    .description('Control diycloudd: users and their accounts, their limits, role profiles and the audit log (org.diycloud.Manager1).')
    .option('--json', 'print machine-readable output: one JSON document on stdout')
    .option('--bus-address <address>', 'D-Bus address (default: $DBUS_SYSTEM_BUS_ADDRESS, else the system bus)')
    .option('--no-ask-password', 'never ask for a password to authorize (no interactive polkit prompt)')
    .option('-q, --quiet', 'print less: suppress informational output')
    .version(version, '--version')
    .showHelpAfterError('(add --help for more information)')
    .configureOutput({ outputError: (s, write) => write(`diycloudctl: ${s.replace(/^error: /, '')}`) })
    // A bad command line exits 2 (like InvalidArgument); --help and --version exit 0.
    .exitOverride((err: CommanderError) => {
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_USAGE, err.code, err.message);
    })
    .addHelpText('after', `
Examples:
  diycloudctl status                              daemon, backend, users by memory use
  diycloudctl user show alice                     record, allocation and what is in force
  diycloudctl user add carol --role student       create an account; prints its UID
  diycloudctl limits set alice --cpu 2 --memory 4G
  diycloudctl profile set student --cpu 1 --memory 2G
  diycloudctl --json user list --disabled
  diycloudctl audit --user alice --limit 20

Exit status: 0 on success, 2 for a usage error, otherwise the code of the daemon's error
(docs/errors.md: 3 no such user, 4 permission denied, 6 user exists, 7 name reserved,
8 limit out of range, ...), 130 when a password prompt is interrupted,
69 when diycloudd is not running, 75 when it did not answer in time.`);

  addStatusCommand(program);
  addReconcileCommand(program);
  addUserCommands(program);
  addUsageCommands(program);
  addLimitsCommands(program);
  addProfileCommands(program);
  addRequestCommands(program);
  addAuditCommand(program);
  addDoctorCommand(program);
  addPamCommand(program);
  addWebCommand(program);
  return program;
}
