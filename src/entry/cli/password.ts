// A new account's password for `user add`: one line of stdin, or a hidden prompt on a terminal; never argv.

import { StringDecoder } from 'node:string_decoder';
import { Interrupted, UsageError } from './errors';

/** What the prompt needs of a terminal (process.stdin when it is a TTY). */
export interface TtyInput {
  isRaw?: boolean;
  setRawMode(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** What the line reader needs of stdin. */
export interface LineInput {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** The first line of `input` (up to "\n" or the end), without its "\n" or "\r\n". */
export function readLine(input: LineInput): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let text = '';
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      for (const ev of ['data', 'end', 'close', 'error']) input.removeAllListeners(ev);
      input.pause();
      if (err) return reject(err);
      const nl = text.indexOf('\n');
      const line = nl === -1 ? text : text.slice(0, nl);
      resolve(line.endsWith('\r') ? line.slice(0, -1) : line);
    };
    input.on('data', (chunk) => {
      text += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      if (text.includes('\n')) finish(null);
    });
    input.on('end', () => {
      text += decoder.end();
      finish(null);
    });
    input.on('close', () => finish(null));
    input.on('error', (e) => finish(e));
    input.resume();
  });
}

/**
 * Prompts on `output` and reads one line from the terminal in raw mode, so nothing is echoed.
 * Backspace deletes, Ctrl-U clears, Enter ends; Ctrl-C is Interrupted (exit 130), Ctrl-D on an
 * empty line a usage error. The terminal's mode is restored whatever happens.
 */
export function promptHidden(input: TtyInput, output: { write(s: string): unknown }, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    const wasRaw = input.isRaw === true;
    let chars: string[] = [];
    let settled = false;
    const done = (err: Error | null) => {
      if (settled) return;
      settled = true;
      input.removeListener('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(chars.join(''));
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === 'string' ? chunk : decoder.write(chunk)) {
        if (settled) return;
        if (ch === '\r' || ch === '\n') done(null);
        else if (ch === '\u0003') done(new Interrupted());
        else if (ch === '\u0004') {
          if (chars.length === 0) done(new UsageError('no password given'));
        } else if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else if (ch === '\u0015') chars = [];
        else if (ch >= ' ') chars.push(ch);
      }
    };
    output.write(prompt);
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}

export interface PasswordIo {
  readonly stdinIsTty: boolean;
  /** One line of stdin (--password-stdin). */
  readLine(): Promise<string>;
  /** A hidden prompt on the terminal. */
  prompt(text: string): Promise<string>;
}

/**
 * --password-stdin: the first line of stdin. Otherwise, on a terminal: asked twice without
 * echo, and both must match. Otherwise null: the account is created without a password (locked).
 */
export async function obtainPassword(opts: { passwordStdin?: boolean }, io: PasswordIo): Promise<string | null> {
  if (opts.passwordStdin) {
    const line = await io.readLine();
    if (line === '') throw new UsageError('--password-stdin: stdin held no password (an empty first line)');
    return line;
  }
  if (!io.stdinIsTty) return null;
  const first = await io.prompt('New password: ');
  if (first === '') throw new UsageError('empty password (to create a locked account, run with stdin redirected from /dev/null)');
  const second = await io.prompt('Retype new password: ');
  if (first !== second) throw new UsageError('the passwords do not match');
  return first;
}

/** The real stdin and stderr. */
export function processPasswordIo(): PasswordIo {
  return {
    stdinIsTty: process.stdin.isTTY === true,
    readLine: () => readLine(process.stdin),
    prompt: (text) => promptHidden(process.stdin, process.stderr, text),
  };
}
