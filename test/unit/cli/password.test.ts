// Unit: how `user add` gets a password: one stdin line, a hidden double prompt on a terminal, or none.
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { obtainPassword, promptHidden, readLine, type PasswordIo } from '../../../src/entry/cli/password';
import { Interrupted, UsageError, describeFailure } from '../../../src/entry/cli/errors';

function io(p: Partial<PasswordIo> & { answers?: string[]; line?: string }): PasswordIo & { prompts: string[] } {
  const prompts: string[] = [];
  const answers = [...(p.answers ?? [])];
  return {
    stdinIsTty: p.stdinIsTty ?? false,
    prompts,
    readLine: async () => p.line ?? '',
    prompt: async (t) => (prompts.push(t), answers.shift() ?? ''),
  };
}

describe('obtainPassword', () => {
  it('--password-stdin: the line read; an empty line is a usage error', async () => {
    expect(await obtainPassword({ passwordStdin: true }, io({ line: 'secret' }))).toBe('secret');
    await expect(obtainPassword({ passwordStdin: true }, io({ line: '' }))).rejects.toThrow(UsageError);
  });
  it('a terminal: asks twice, and the answers must match and not be empty', async () => {
    const t = io({ stdinIsTty: true, answers: ['pw', 'pw'] });
    expect(await obtainPassword({}, t)).toBe('pw');
    expect(t.prompts).toEqual(['New password: ', 'Retype new password: ']);
    await expect(obtainPassword({}, io({ stdinIsTty: true, answers: ['pw', 'px'] }))).rejects.toThrow(/do not match/);
    await expect(obtainPassword({}, io({ stdinIsTty: true, answers: [''] }))).rejects.toThrow(UsageError);
  });
  it('no terminal and no flag: no password (the account stays locked), nothing read', async () => {
    const t = io({ stdinIsTty: false, answers: ['x'] });
    expect(await obtainPassword({}, t)).toBeNull();
    expect(t.prompts).toEqual([]);
  });
});

describe('readLine', () => {
  it('the first line without its newline or CR, across chunks and split UTF-8', async () => {
    const s = new PassThrough();
    const p = readLine(s);
    const bytes = Buffer.from('pä', 'utf8');
    s.write(bytes.subarray(0, 2));
    s.write(Buffer.concat([bytes.subarray(2), Buffer.from('ss\r\nsecond line\n')]));
    expect(await p).toBe('päss');
  });
  it('text without a newline up to the end; nothing at all is ""', async () => {
    const s = new PassThrough();
    const p = readLine(s);
    s.end('abc');
    expect(await p).toBe('abc');
    const e = new PassThrough();
    const q = readLine(e);
    e.end();
    expect(await q).toBe('');
  });
});

describe('promptHidden', () => {
  function tty() {
    const s = new PassThrough() as PassThrough & { isRaw: boolean; setRawMode(m: boolean): void; modes: boolean[] };
    s.isRaw = false;
    s.modes = [];
    s.setRawMode = (m: boolean) => {
      s.isRaw = m;
      s.modes.push(m);
    };
    let out = '';
    return { s, output: { write: (t: string) => (out += t) }, out: () => out };
  }
  it('reads in raw mode without echo, handles backspace and Ctrl-U, and restores the mode', async () => {
    const t = tty();
    const p = promptHidden(t.s, t.output, 'New password: ');
    t.s.write('junk\u0015sec');
    t.s.write('rx\u007fet\r');
    expect(await p).toBe('secret');
    expect(t.out()).toBe('New password: \n');
    expect(t.s.modes).toEqual([true, false]);
  });
  it('Ctrl-C is Interrupted (exit 130); Ctrl-D on an empty line a usage error; the mode is restored', async () => {
    const t = tty();
    const p = promptHidden(t.s, t.output, '> ');
    t.s.write('ab\u0003');
    await expect(p).rejects.toBeInstanceOf(Interrupted);
    expect(describeFailure(new Interrupted())).toEqual({ message: 'interrupted', exitCode: 130 });
    expect(t.s.isRaw).toBe(false);
    const u = tty();
    const q = promptHidden(u.s, u.output, '> ');
    u.s.write('\u0004');
    await expect(q).rejects.toBeInstanceOf(UsageError);
    expect(u.s.isRaw).toBe(false);
  });
});
