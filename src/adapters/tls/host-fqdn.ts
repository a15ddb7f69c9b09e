// This host's fully qualified name, for a self-signed certificate's CN: the canonical name NSS gives for hostname(2)'s name.

import { hostname } from 'node:os';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

/**
 * `getent ahosts -- NAME` prints the canonical name (AI_CANONNAME) as the third field of its
 * first line ("127.0.1.1 STREAM web.example.org"), as `hostname -f` does. When NSS knows no
 * dotted name for it, the short name is the answer.
 */
export async function hostFqdn(run: RunFn = runProgram, short: string = hostname()): Promise<string> {
  const r = await run('/usr/bin/getent', ['ahosts', '--', short]).catch(() => null);
  const canon = r && r.code === 0 ? r.stdout.split('\n')[0]?.trim().split(/\s+/)[2] : undefined;
  return canon && canon.includes('.') && !/^[\d.]+$/.test(canon) && !canon.includes(':') ? canon : short;
}
