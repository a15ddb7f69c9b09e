#!/usr/bin/env node
// diycloudd: the composition root. Parses flags, loads config, wires adapters to use cases, serves the bus.

import { Command } from 'commander';
import { startDaemon } from './start-daemon';
import { createJournalLogger } from '../adapters/log/journal-logger';

const program = new Command('diycloudd')
  .description('The diycloud daemon: holds every login to its allocation (org.diycloud.Manager1 on the system bus).')
  .option('-c, --config <path>', 'configuration file', '/etc/diycloud/diycloud.conf')
  .option('--bus-address <address>', 'D-Bus address to serve on instead of the system bus (also: DBUS_SYSTEM_BUS_ADDRESS)')
  .option('--database <path>', 'SQLite database (overrides [Backend] Database)')
  .option('--backend <name>', 'cgroup backend: auto, systemd, cgroupfs or none (overrides [Backend] Cgroups)')
  .option('--check-config', 'validate the configuration, print the effective settings as JSON, and exit')
  .option('--debug', 'log debug messages')
  .addHelpText('after', `
Examples:
  diycloudd                                   run as the system service (systemd starts it)
  diycloudd --check-config                    validate /etc/diycloud/diycloud.conf
  diycloudd --bus-address unix:path=/run/diycloud-bus --backend none --database /tmp/d.db

Exit status: 0 on a clean stop, 2 for a bad configuration or flag, 1 for any other failure.
See diycloudd(8) in docs/operations.md.`)
  .version(require('../../package.json').version as string);

// A bad flag is a usage error: exit 2, like a bad configuration (help and --version exit 0).
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
program.parse();
const opts = program.opts<{ config: string; busAddress?: string; database?: string; backend?: string; checkConfig?: boolean; debug?: boolean }>();
const log = createJournalLogger({ debug: opts.debug === true });

startDaemon(opts, log).catch((e: unknown) => {
  const err = e as Error & { code?: string };
  log.error(`diycloudd: ${err.message}`);
  if (opts.debug) log.debug(err.stack ?? '');
  process.exit(err.code === 'InvalidArgument' ? 2 : 1);
});
