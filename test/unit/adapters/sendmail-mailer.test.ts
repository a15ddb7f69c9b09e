// Unit: the sendmail Mailer runs the configured program with "-i -- RECIPIENT", the message on stdin, a clean environment.
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendmailMailer } from '../../../src/adapters/mail/sendmail-mailer';
import { runProgram } from '../../../src/adapters/exec/run-program';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** A stand-in sendmail that records its argv, environment and stdin, and exits with `code`. */
function fakeSendmail(code: number): { path: string; out: string } {
  dir = mkdtempSync(join(tmpdir(), 'dc-mail-'));
  const out = join(dir, 'out');
  const path = join(dir, 'sendmail');
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" > ${out}.argv\nenv > ${out}.env\ncat > ${out}.stdin\necho 'queue full' >&2\nexit ${code}\n`);
  chmodSync(path, 0o755);
  return { path, out };
}

describe('SendmailMailer', () => {
  it('passes the recipient after "--" and the message on stdin, with only the clean environment', async () => {
    const f = fakeSendmail(0);
    process.env.DIYCLOUD_SECRET_TEST = 'leak';
    try {
      await new SendmailMailer(f.path, runProgram).send('-oQ/tmp@example.org', 'To: x\n\nhello\n.\nstill body\n');
    } finally {
      delete process.env.DIYCLOUD_SECRET_TEST;
    }
    expect(readFileSync(`${f.out}.argv`, 'utf8')).toBe('-i\n--\n-oQ/tmp@example.org\n');
    expect(readFileSync(`${f.out}.stdin`, 'utf8')).toBe('To: x\n\nhello\n.\nstill body\n');
    expect(readFileSync(`${f.out}.env`, 'utf8')).not.toContain('DIYCLOUD_SECRET_TEST');
  });
  it('a non-zero exit is an error naming the program and its stderr', async () => {
    const f = fakeSendmail(75);
    await expect(new SendmailMailer(f.path, runProgram).send('a@example.org', 'x')).rejects.toThrow(/sendmail exited with 75: queue full/);
  });
});
