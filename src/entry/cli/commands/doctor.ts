// diycloudctl doctor: checks the host as a whole (config, cgroups, quotas, hook, PAM, unit, daemon) and prints each fix.

import type { GpuInventory } from '../../../core/gpu';
import type { Command } from 'commander';
import { gatherFacts, systemGatherDeps } from '../../../adapters/doctor/gather';
import { DEFAULT_CONFIG_PATH } from '../../../adapters/config/load-config';
import { ManagerClient } from '../../../adapters/dbus/manager-client';
import { allPassed, diagnose, type Check } from '../../../core/doctor';
import { emit } from '../action';
import { busAddress, createContext, processEnv, type GlobalOptions } from '../context';
import { ProblemsFound } from '../errors';
import { renderTable } from '../format';

/** The daemon may be down or wedged: doctor must still answer soon, so the bus gets far less than a command's 25 s. */
const DAEMON_TIMEOUT_MS = 5_000;

/** Exit status when a check failed ("problems found"); warnings alone exit 0. */
export const EXIT_PROBLEMS = 1;

/** Thrown after the report is printed: the program prints this one line on stderr and exits 1. */

/** Asks diycloudd for Version, Backend and the GPU inventory (Gpus) on `address`, with a short timeout. */
export async function askDaemon(address: string, timeoutMs = DAEMON_TIMEOUT_MS): Promise<{ version: string; backend: string; gpus?: GpuInventory }> {
  const client = await ManagerClient.connect({ address, timeoutMs });
  try {
    const props = await client.properties();
    let gpus: GpuInventory | undefined;
    try {
      gpus = props.Gpus === undefined ? undefined : (JSON.parse(String(props.Gpus)) as GpuInventory);
    } catch {
      gpus = undefined; // an older daemon's or a damaged value: the GPU check says it does not know
    }
    return { version: String(props.Version ?? 'unknown'), backend: String(props.Backend ?? 'unknown'), gpus };
  } finally {
    client.close();
  }
}

/** The table, then one "fix:" line per check that is not ok. */
export function renderDoctor(checks: readonly Check[], bold = false): string {
  const table = renderTable(['CHECK', 'STATUS', 'DETAIL'], checks.map((c) => [c.title, c.status, c.detail]), { bold });
  const fixes = checks.filter((c) => c.status !== 'ok' && c.fix !== null).map((c) => `${c.status === 'fail' ? 'FAIL' : 'warn'} ${c.title}\n  fix: ${c.fix}\n`);
  return fixes.length ? `${table}\n${fixes.join('')}` : table;
}

export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check this host as a whole (run as root; works while diycloudd is down) and print each problem with its fix')
    .option('--config <path>', 'the diycloudd config to check (a missing file means the defaults)', DEFAULT_CONFIG_PATH)
    .addHelpText('after', `
Checks: the config parses; cgroup controllers (systemd as PID 1 with cpu and memory controllers
it can write: none offered, or mounted read-only, is a warning; else a cgroupfs v2 or v1
hierarchy with cpu and memory); disk quotas on each [Quota] Paths entry (default: the filesystem
holding /home): enforced is ok, accounting only is a warning, off fails; the PAM gate
(pam_diycloud.so beside pam_unix.so, or /usr/libexec/diycloud/pam-hook where the PAM lines
still run it with pam_exec); the diycloud lines in /etc/pam.d/common-account and
common-session; the diycloudd unit (on systemd); GPU access (whether the kernel holds users to
their GPU grants on this backend); and whether diycloudd answers on the bus.

Examples:
  diycloudctl doctor
  diycloudctl doctor --config /tmp/new.conf       check a config before installing it
  diycloudctl --json doctor | jq '.checks[] | select(.status != "ok")'

Exit status: 0 when every check is ok or a warning, 1 when any check failed (the report
says what to fix), 2 for a usage error.`)
    .action(async (opts: { config: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      const env = processEnv();
      const ctx = createContext(global, env);
      try {
        const address = busAddress(global, env.env);
        const checks = diagnose(await gatherFacts(systemGatherDeps(opts.config, () => askDaemon(address))));
        const ok = allPassed(checks);
        emit(ctx, { checks, ok }, () => renderDoctor(checks, ctx.color));
        if (!ok) throw new ProblemsFound(checks.filter((c) => c.status === 'fail').length);
      } finally {
        ctx.close();
      }
    });
}
