// Glue between commander and a command: builds the context from the global options and emits output.

import type { Command } from 'commander';
import { createContext, type CliContext, type GlobalOptions } from './context';

/**
 * Wraps a command body for `.action()`: commander passes the positional arguments, the
 * command's options and the Command; the body gets a context (global options applied) first.
 * Errors propagate to the program, which prints them and picks the exit code.
 */
export function act<A extends unknown[]>(body: (ctx: CliContext, ...args: A) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = createContext(cmd.optsWithGlobals<GlobalOptions>());
    try {
      await body(ctx, ...(args.slice(0, -1) as A));
    } finally {
      ctx.close();
    }
  };
}

/** --json: one JSON document; otherwise the human text (skipped with -q when `informational`). */
export function emit(ctx: CliContext, value: unknown, text: () => string, informational = false): void {
  if (ctx.json) ctx.out(JSON.stringify(value) + '\n');
  else if (!(informational && ctx.quiet)) ctx.out(text());
}

/** The JSON answer of a void method. */
export const OK = { ok: true } as const;

/** Calls a method that answers nothing; prints {"ok":true} with --json, nothing otherwise. */
export async function callVoid(ctx: CliContext, member: string, signature: string, body: unknown[]): Promise<void> {
  const c = await ctx.client();
  await c.call(member, signature, body, { interactive: await ctx.interactive() });
  emit(ctx, OK, () => '');
}

/** Calls a method that answers warnings (as): each is printed on stderr, and listed under "warnings" with --json. */
export async function callWarn(ctx: CliContext, member: string, signature: string, body: unknown[]): Promise<void> {
  const c = await ctx.client();
  const [warnings] = (await c.call(member, signature, body, { interactive: await ctx.interactive() })) as [string[]];
  const list = Array.isArray(warnings) ? warnings.map(String) : [];
  if (!ctx.json) for (const w of list) process.stderr.write(`warning: ${w}\n`);
  emit(ctx, { ...OK, warnings: list }, () => '');
}

/** Calls a method that answers JSON and returns it parsed. */
export async function callJson<T>(ctx: CliContext, member: string, signature: string, body: unknown[]): Promise<T> {
  const c = await ctx.client();
  return c.callJson<T>(member, signature, body, { interactive: await ctx.interactive() });
}
