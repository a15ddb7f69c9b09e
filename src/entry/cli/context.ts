// What every diycloudctl command gets: output mode, the connection, and whether to ask for a password.

import { DEFAULT_SYSTEM_BUS, ManagerClient } from '../../adapters/dbus/manager-client';
import { openPolkitAgent, type PolkitAgent } from '../../adapters/exec/polkit-agent';

export interface GlobalOptions {
  json?: boolean;
  busAddress?: string;
  askPassword?: boolean;
  quiet?: boolean;
}

export interface CliContext {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Headers in bold: stdout is a terminal and NO_COLOR is unset. */
  readonly color: boolean;
  /** Writes to stdout. */
  out(text: string): void;
  /** The connection, opened on first use. */
  client(): Promise<ManagerClient>;
  /** Flag calls that may need polkit as interactive (and start a tty agent once, if useful). */
  interactive(): Promise<boolean>;
  close(): void;
}

export interface Env {
  readonly env: NodeJS.ProcessEnv;
  readonly stdinIsTty: boolean;
  readonly stdoutIsTty: boolean;
  readonly uid: number;
  write(text: string): void;
}

export function processEnv(): Env {
  return {
    env: process.env,
    stdinIsTty: process.stdin.isTTY === true,
    stdoutIsTty: process.stdout.isTTY === true,
    uid: process.getuid?.() ?? 0,
    write: (t) => void process.stdout.write(t),
  };
}

/** The bus address: --bus-address, else $DBUS_SYSTEM_BUS_ADDRESS, else the system bus socket. */
export function busAddress(opts: GlobalOptions, env: NodeJS.ProcessEnv): string {
  return opts.busAddress || env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS;
}

export function createContext(opts: GlobalOptions, env: Env = processEnv()): CliContext {
  let client: Promise<ManagerClient> | undefined;
  let agent: Promise<PolkitAgent | null> | undefined;
  const mayAsk = opts.askPassword !== false && env.stdinIsTty;
  return {
    json: opts.json === true,
    quiet: opts.quiet === true,
    color: env.stdoutIsTty && !env.env.NO_COLOR,
    out: env.write,
    client: () => (client ??= ManagerClient.connect({ address: busAddress(opts, env.env) })),
    async interactive() {
      if (!mayAsk) return false;
      // root is authorized without a prompt; others get an agent on this terminal, as systemctl does.
      if (env.uid !== 0) await (agent ??= openPolkitAgent().catch(() => null));
      return true;
    },
    close() {
      void agent?.then((a) => a?.close());
      void client?.then((c) => c.close()).catch(() => undefined);
    },
  };
}
