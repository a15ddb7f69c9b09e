// Helpers for man-completion.test.ts: the commander tree as paths and options, roff to plain text,
// the config keys read from src/core/config.ts's schema, and the bash completion driven in a real bash.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import ts from 'typescript';

export interface CommandPath {
  /** "user add", "status", ... */
  readonly path: string;
  readonly command: Command;
  /** The long options of this command itself ("--cpu", "--no-gpu"). */
  readonly longs: string[];
  readonly hasArguments: boolean;
}

/** Every command with no subcommands (a leaf), and every group, with its long options. */
export function commandPaths(program: Command): { leaves: CommandPath[]; groups: CommandPath[] } {
  const leaves: CommandPath[] = [];
  const groups: CommandPath[] = [];
  const walk = (cmd: Command, prefix: string[]): void => {
    for (const c of cmd.commands) {
      const names = [...prefix, c.name()];
      const entry: CommandPath = { path: names.join(' '), command: c, longs: longOptions(c), hasArguments: c.registeredArguments.length > 0 };
      if (c.commands.length > 0) {
        groups.push(entry);
        walk(c, names);
      } else {
        leaves.push(entry);
      }
    }
  };
  walk(program, []);
  return { leaves, groups };
}

export function longOptions(cmd: Command): string[] {
  return cmd.options.map((o) => o.long).filter((l): l is string => typeof l === 'string');
}

export function shortOptions(cmd: Command): string[] {
  return cmd.options.map((o) => o.short).filter((s): s is string => typeof s === 'string');
}

/** Splits a macro line's arguments as roff does: "quoted words" or blank-separated ones. */
function macroArgs(rest: string): string[] {
  const out: string[] = [];
  for (const m of rest.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

const ALTERNATING = new Set(['BR', 'BI', 'IB', 'IR', 'RB', 'RI']);

/** man(7) source to plain text, one output line per input line; section headings become "=SH NAME". */
export function deroff(source: string): string[] {
  const lines: string[] = [];
  for (const raw of source.split('\n')) {
    let line = raw;
    const m = /^\.([A-Za-z]+)\s*(.*)$/.exec(raw);
    if (m) {
      const [, macro, rest] = m;
      if (macro === 'SH') line = `=SH ${macroArgs(rest).join(' ')}`;
      else if (macro === 'SS') line = `=SS ${macroArgs(rest).join(' ')}`;
      else if (ALTERNATING.has(macro)) line = macroArgs(rest).join('');
      else if (macro === 'B' || macro === 'I') line = macroArgs(rest).join(' ');
      else if (macro === 'TP') line = '=TP';
      else line = '';
    } else if (raw.startsWith('.') || raw.startsWith("'")) {
      line = '';
    }
    lines.push(
      line
        .replace(/\\f[BIRP]/g, '')
        .replace(/\\-/g, '-')
        .replace(/\\\(aq/g, "'")
        .replace(/\\\(dq/g, '"')
        .replace(/\\\(mu/g, 'x')
        .replace(/\\\(bu/g, '*')
        .replace(/\\&/g, '')
        .replace(/\\e/g, '\\'),
    );
  }
  return lines;
}

/** The plain text of one .SH section (without its heading). */
export function section(lines: readonly string[], name: string): string[] {
  const start = lines.indexOf(`=SH ${name}`);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('=SH '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The tag lines of the .TP entries in `lines` (the line after each .TP). */
export function tags(lines: readonly string[]): string[] {
  return lines.flatMap((l, i) => (l === '=TP' && i + 1 < lines.length ? [lines[i + 1]] : []));
}

/** The .TP entries in `lines`: the tag and the text up to the next .TP or .PP paragraph. */
export function entriesOf(lines: readonly string[]): { tag: string; body: string }[] {
  const out: { tag: string; body: string }[] = [];
  lines.forEach((l, i) => {
    if (l !== '=TP' || i + 1 >= lines.length) return;
    let end = lines.findIndex((m, j) => j > i + 1 && m === '=TP');
    if (end < 0) end = lines.length;
    out.push({ tag: lines[i + 1], body: lines.slice(i + 2, end).join(' ').replace(/\s+/g, ' ').trim() });
  });
  return out;
}

/** Sections and keys of the zod schema `const schema = z.object({ Section: z.object({ Key: ... }) ... })` in config.ts. */
export function configKeysFromSource(file: string): Map<string, string[]> {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  let schemaInit: ts.Expression | undefined;
  sf.forEachChild((n) => {
    if (ts.isVariableStatement(n)) {
      for (const d of n.declarationList.declarations) if (ts.isIdentifier(d.name) && d.name.text === 'schema') schemaInit = d.initializer;
    }
  });
  if (!schemaInit) throw new Error(`${file}: no "const schema"`);
  const result = new Map<string, string[]>();
  for (const sectionProp of objectLiteralOf(schemaInit).properties) {
    if (!ts.isPropertyAssignment(sectionProp)) continue;
    const keys = objectLiteralOf(sectionProp.initializer).properties.filter(ts.isPropertyAssignment).map((p) => p.name.getText(sf));
    result.set(sectionProp.name.getText(sf), keys);
  }
  return result;
}

/** The object literal passed to the innermost `z.object(...)` of a call chain such as `z.object({...}).strict().default({})`. */
function objectLiteralOf(expr: ts.Expression): ts.ObjectLiteralExpression {
  let e: ts.Node = expr;
  for (;;) {
    if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression)) {
      const callee = e.expression;
      if (callee.name.text === 'object' && ts.isIdentifier(callee.expression) && callee.expression.text === 'z') {
        const arg = e.arguments[0];
        if (arg && ts.isObjectLiteralExpression(arg)) return arg;
        throw new Error(`z.object without an object literal: ${e.getText()}`);
      }
      e = callee.expression;
    } else {
      throw new Error(`not a z.object(...) chain: ${expr.getText()}`);
    }
  }
}

/** Single-quotes a word for bash. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command line readline had: words split at ":" and "=" (COMP_WORDBREAKS) are glued back. */
function lineOf(words: readonly string[]): string {
  return words.reduce((line, w, i) => (i === 0 ? w : /^[:=]$/.test(w) || /^[:=]$/.test(words[i - 1]) ? line + w : `${line} ${w}`), '');
}

/** bash-completion's main script, where the host has it (then the script uses its _init_completion). */
export const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';

/**
 * Sources `script` in one bash (plain, or after bash-completion's main script) and, for each case,
 * sets COMP_WORDS to the words as readline splits them (the last is the word being completed),
 * COMP_CWORD, COMP_LINE and COMP_POINT, calls the function `complete -p diycloudctl` names, and
 * returns each COMPREPLY. `getent` is a shell function printing `passwd` instead of the host's users.
 */
export function runCompletion(script: string, cases: readonly (readonly string[])[], passwd: string, withBashCompletion = false): string[][] {
  const body = [
    ...(withBashCompletion ? [`source ${BASH_COMPLETION} || exit 5`, 'declare -F _init_completion >/dev/null || exit 6'] : []),
    `source ${q(script)} || exit 3`,
    `getent() { [ "$1" = passwd ] && printf '%s' ${q(passwd)}; }`,
    // The function registered for diycloudctl, as bash would call it.
    `fn=$(complete -p diycloudctl | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')`,
    '[ -n "$fn" ] || exit 4',
    ...cases.map((words) => [
      `COMP_WORDS=(${words.map(q).join(' ')})`,
      `COMP_CWORD=${words.length - 1}`,
      `COMP_LINE=${q(lineOf(words))}`,
      'COMP_POINT=${#COMP_LINE}; COMPREPLY=()',
      '"$fn" diycloudctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
      `printf '%s\\037' "\${COMPREPLY[@]}"; printf '\\036'`,
    ].join('; ')),
  ].join('\n');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', body], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`bash exited ${String(r.status)}: ${r.stderr}`);
  if (r.stderr !== '') throw new Error(`completion wrote to stderr: ${r.stderr}`);
  const records = r.stdout.split('\x1e').slice(0, -1);
  if (records.length !== cases.length) throw new Error(`expected ${cases.length} replies, got ${records.length}`);
  return records.map((rec) => rec.split('\x1f').filter((w) => w !== ''));
}
