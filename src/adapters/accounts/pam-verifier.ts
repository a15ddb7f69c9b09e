// PasswordVerifier through PAM: runs diycloud-pam-verify with the password on its stdin.

import { DiycloudError } from '../../core/errors';
import type { PasswordVerifier } from '../../core/ports';
import { runProgram } from '../exec/run-program';
import type { RunFn } from '../exec/program-runner';

/** Exit 0: proven; 1: refused (wrong password, locked or expired account); anything else: an error. */
export class PamVerifier implements PasswordVerifier {
  constructor(private readonly path: string, private readonly run: RunFn = runProgram) {}

  async verify(user: string, password: string): Promise<boolean> {
    const r = await this.run(this.path, ['--', user], { input: `${password}\n`, timeoutMs: 30_000 });
    if (r.code === 0) return true;
    if (r.code === 1) return false;
    throw new DiycloudError('BackendFailed', 'PAM could not check the password', { cause: new Error(`pam-verify exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`) });
  }
}
