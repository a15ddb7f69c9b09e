// Mailer through a sendmail-compatible program ([Requests] Mailer): argv array, clean env, message on stdin.

import type { Mailer } from '../../core/request-ports';
import type { RunFn } from '../exec/program-runner';

export class SendmailMailer implements Mailer {
  constructor(private readonly path: string, private readonly run: RunFn, private readonly timeoutMs = 30_000) {}

  /** `MAILER -i -- RECIPIENT`: -i keeps a lone "." line from ending the message; "--" keeps the address from being an option. */
  async send(recipient: string, message: string): Promise<void> {
    const r = await this.run(this.path, ['-i', '--', recipient], { input: message, timeoutMs: this.timeoutMs, maxOutputBytes: 4096 });
    if (r.code !== 0) throw new Error(`${this.path} exited with ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 200)}`);
  }
}
