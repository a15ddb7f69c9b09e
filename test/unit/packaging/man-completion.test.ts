// Unit: the man pages and the bash completion against the code they describe. The commander tree
// (buildProgram) gives every command and option; the completion script is run in a real bash for
// each command; the config keys come from the zod schema in src/core/config.ts; and each page must
// render without a warning as lintian renders it (man --warnings).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config';
import { parseWebConfig } from '../../../src/core/web-config';
import { BUILTIN_ROLES } from '../../../src/core/roles';
import { buildProgram } from '../../../src/entry/cli/program';
import { BASH_COMPLETION, commandPaths, configKeysFromSource, deroff, entriesOf, longOptions, runCompletion, section, shortOptions, tags } from './man-completion-lib';

const ROOT = join(__dirname, '..', '..', '..');
const COMPLETION = join(ROOT, 'packaging', 'bash-completion', 'diycloudctl');
const MAN = join(ROOT, 'packaging', 'man');
const PAGES = ['diycloudctl.1', 'diycloudd.8', 'diycloud.conf.5', 'diycloud-web.8'];

const program = buildProgram('0.0.0');
const { leaves, groups } = commandPaths(program);
const globalLongs = [...longOptions(program), '--help'];
const globalShorts = [...shortOptions(program), '-h'];
/** `diycloudctl pam` is being added (issue 9); the completion and the page may know it before buildProgram does. */
const PENDING = program.commands.some((c) => c.name() === 'pam') ? [] : ['pam'];
if (PENDING.length) console.warn('man-completion: "pam" is not registered in buildProgram() yet; it is allowed (not required) in the completion');

const PASSWD = ['root:x:0:0::/root:/bin/bash', 'sysacct:x:999:999::/:/usr/sbin/nologin', 'alice:x:1001:1001::/home/alice:/bin/bash', 'bob:x:60001:60001::/home/bob:/bin/sh', 'nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin', ''].join('\n');
const sorted = (a: readonly string[]): string[] => [...new Set(a)].sort();
/** The words to type for a command path, with a user name after a command that takes arguments. */
const wordsOf = (p: { path: string; hasArguments: boolean }): string[] => [...p.path.split(' '), ...(p.hasArguments ? ['alice'] : [])];

const MODES = [{ mode: 'plain bash', withBashCompletion: false }, ...(existsSync(BASH_COMPLETION) ? [{ mode: 'bash with bash-completion', withBashCompletion: true }] : [])];
if (MODES.length === 1) console.warn(`man-completion: ${BASH_COMPLETION} is missing: the completion is checked in plain bash only`);

describe.each(MODES)('bash completion (packaging/bash-completion/diycloudctl), driven in $mode', ({ withBashCompletion }) => {
  const complete = (cases: readonly (readonly string[])[]): string[][] => runCompletion(COMPLETION, cases, PASSWD, withBashCompletion);

  it('completes every top-level command, and nothing that is not one', () => {
    const replies = complete([
      ['diycloudctl', ''],
      ['diycloudctl', '--json', '--bus-address', 'unix', ':', 'path', '=', '/x', '-q', ''],
    ]);
    const expected = [...program.commands.map((c) => c.name()), 'help'];
    for (const r of replies) {
      expect(r).toEqual(expect.arrayContaining(expected));
      expect(r.filter((w) => !expected.includes(w) && !PENDING.includes(w))).toEqual([]);
    }
  });

  it('completes the subcommands of every command group', () => {
    expect(groups.map((g) => g.path)).toEqual(expect.arrayContaining(['user', 'limits', 'profile']));
    const replies = complete(groups.map((g) => ['diycloudctl', ...g.path.split(' '), '']));
    groups.forEach((g, i) => {
      const subs = g.command.commands.map((c) => c.name());
      expect(replies[i], g.path).toEqual(expect.arrayContaining(subs));
      // limits NAME is limits show NAME: user names may follow "limits", nothing else.
      expect(replies[i].filter((w) => !subs.includes(w) && !(g.path === 'limits' && ['alice', 'bob'].includes(w))), g.path).toEqual([]);
    });
  });

  it("offers exactly each command's long options plus the global ones, wherever they are typed", () => {
    const cases: string[][] = [];
    for (const leaf of leaves) {
      cases.push(['diycloudctl', ...leaf.path.split(' '), '--']);
      // As readline splits "--bus-address unix:path=/x" (at ":" and "=").
      cases.push(['diycloudctl', '--json', '--bus-address', 'unix', ':', 'path', '=', '/x', ...wordsOf(leaf), '--']);
      cases.push(['diycloudctl', '--bus-address', '=', 'unix', ':', 'path', '=', '/x', '-q', ...wordsOf(leaf), '--']);
    }
    const replies = complete(cases);
    leaves.forEach((leaf, i) => {
      const expected = sorted([...leaf.longs, ...globalLongs]);
      expect(sorted(replies[3 * i]), leaf.path).toEqual(expected);
      expect(sorted(replies[3 * i + 1]), `${leaf.path} after globals and an argument`).toEqual(expected);
      expect(sorted(replies[3 * i + 2]), `${leaf.path} after --bus-address=...`).toEqual(expected);
    });
  });

  it('offers the short global options after a single dash', () => {
    const [reply] = complete([['diycloudctl', 'status', '-']]);
    expect(reply).toEqual(expect.arrayContaining([...globalShorts, ...globalLongs]));
  });

  it('completes values: roles, users with UID >= 1000 (from getent, not nobody), GPUs, --opt=value', () => {
    const [role, roleEq, users, limitsBare, roleArg, gpus] = complete([
      ['diycloudctl', 'user', 'add', 'carol', '--role', ''],
      ['diycloudctl', 'user', 'list', '--role', '=', 'op'],
      ['diycloudctl', 'user', 'show', ''],
      ['diycloudctl', 'limits', ''],
      ['diycloudctl', 'user', 'role', 'alice', ''],
      ['diycloudctl', 'limits', 'set', 'alice', '--gpus', ''],
    ]);
    expect(sorted(role)).toEqual(sorted(BUILTIN_ROLES));
    expect(roleEq).toEqual(['operator']);
    expect(sorted(users)).toEqual(['alice', 'bob']);
    expect(limitsBare).toEqual(expect.arrayContaining(['show', 'set', 'reset', 'alice', 'bob']));
    expect(sorted(roleArg)).toEqual(sorted(BUILTIN_ROLES));
    expect(sorted(gpus)).toEqual(['all', 'none']);
  });
});

describe('the completion script itself', () => {
  const haveShellcheck = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' }).status === 0;
  it('parses in bash -n', () => {
    const r = spawnSync('bash', ['-n', COMPLETION], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  it.skipIf(!haveShellcheck)('passes shellcheck', () => {
    const r = spawnSync('shellcheck', ['-s', 'bash', COMPLETION], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  if (!haveShellcheck) console.warn('man-completion: shellcheck is not installed: that check is SKIPPED');
});

describe('diycloudctl(1)', () => {
  const lines = deroff(readFileSync(join(MAN, 'diycloudctl.1'), 'utf8'));
  const commands = section(lines, 'COMMANDS').join('\n').replace(/[ \t]+/g, ' ');
  const has = (text: string, word: string): boolean => new RegExp(`(^|[^\\w-])${word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'm').test(text);

  it('has the sections of a man page', () => {
    for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'COMMANDS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO']) expect(lines, s).toContain(`=SH ${s}`);
  });

  it('describes every command in an entry of its own, with its options', () => {
    const entryTags = tags(section(lines, 'COMMANDS'));
    for (const p of [...leaves, ...groups]) {
      expect(entryTags.some((t) => t === p.path || t.startsWith(`${p.path} `)), `an entry for "${p.path}"`).toBe(true);
      for (const o of p.longs) expect(has(commands, o), `${p.path} ${o}`).toBe(true);
    }
  });

  it('describes every global option in OPTIONS and every exit status of the catalogue', () => {
    const optionTags = tags(section(lines, 'OPTIONS')).join('\n');
    for (const o of [...globalLongs, ...globalShorts]) expect(has(optionTags, o), o).toBe(true);
    const exitTags = tags(section(lines, 'EXIT STATUS'));
    // The catalogue's statuses (docs/errors.md, held to src/core/errors.ts by errors.test.ts), and the client's own.
    const named = [...new Set([...(readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8').matchAll(/\| (\d+) \| \d+ \| (?:allow|failure-mode) \|/g))].map((m) => m[1]))];
    expect(named.length).toBeGreaterThanOrEqual(11);
    for (const code of [...named, '0', '69', '75', '130']) expect(exitTags, `exit ${code}`).toContain(code);
  });
});

describe('diycloud.conf(5)', () => {
  const keys = configKeysFromSource(join(ROOT, 'src', 'core', 'config.ts'));
  const lines = deroff(readFileSync(join(MAN, 'diycloud.conf.5'), 'utf8'));
  const options = section(lines, 'OPTIONS');
  const loginDefs = { uidMin: 1000, uidMax: 60000 };
  const unknownKey = (text: string): boolean => {
    try {
      parseConfig(text, loginDefs);
      return false;
    } catch (e) {
      return /unknown (key|section)/.test((e as Error).message);
    }
  };

  it('reads the keys of the schema, and parseConfig accepts exactly those', () => {
    expect(keys.size).toBeGreaterThanOrEqual(8);
    for (const [s, ks] of keys) {
      expect(ks.length, s).toBeGreaterThan(0);
      for (const k of ks) expect(unknownKey(`[${s}]\n${k}=x\n`), `[${s}] ${k}`).toBe(false);
      expect(unknownKey(`[${s}]\nNoSuchKeyZz=1\n`), `[${s}] a made-up key`).toBe(true);
    }
  });

  it('documents every section and key under its own section, and no key the parser refuses', () => {
    const bySection = new Map<string, string[]>();
    let current = '';
    for (const l of options) {
      if (l.startsWith('=SS ')) bySection.set((current = l.slice(4).replace(/^\[|\]$/g, '')), []);
      else bySection.get(current)?.push(l);
    }
    expect(sorted([...bySection.keys()])).toEqual(sorted([...keys.keys()]));
    for (const [s, ks] of keys) {
      const entries = entriesOf(bySection.get(s) ?? []);
      const documented = entries.map((e) => /^([A-Za-z]+)=/.exec(e.tag)?.[1]).filter((k): k is string => k !== undefined);
      expect(sorted(documented), `[${s}]`).toEqual(sorted(ks));
      for (const e of entries) expect(e.body, `[${s}] ${e.tag}: its default`).toMatch(/\bdefault\b/i);
    }
  });
});

describe('diycloudd(8)', () => {
  it("describes every flag of src/entry/daemon.ts in OPTIONS", () => {
    const source = readFileSync(join(ROOT, 'src', 'entry', 'daemon.ts'), 'utf8');
    const flags = [...source.matchAll(/\.option\('([^']+)'/g)].flatMap((m) => m[1].split(/[ ,]+/).filter((w) => w.startsWith('-')));
    expect(flags).toEqual(expect.arrayContaining(['--config', '--check-config', '--backend']));
    const optionTags = tags(section(deroff(readFileSync(join(MAN, 'diycloudd.8'), 'utf8')), 'OPTIONS')).join('\n');
    for (const f of [...flags, '--version', '--help']) expect(optionTags.split(/[\s,]+/), f).toContain(f);
  });
});

describe('diycloud-web(8)', () => {
  const page = deroff(readFileSync(join(MAN, 'diycloud-web.8'), 'utf8'));
  it('describes every flag of src/entry/web.ts in OPTIONS', () => {
    const source = readFileSync(join(ROOT, 'src', 'entry', 'web.ts'), 'utf8');
    const flags = [...source.matchAll(/\.option\('([^']+)'/g)].flatMap((m) => m[1].split(/[ ,]+/).filter((w) => w.startsWith('-')));
    expect(flags).toContain('--config');
    const optionTags = tags(section(page, 'OPTIONS')).join('\n');
    for (const f of [...flags, '--version', '--help']) expect(optionTags.split(/[\s,]+/), f).toContain(f);
  });
  it("documents in CONFIGURATION exactly the keys of the shipped web.conf, and parseWebConfig takes each of them", () => {
    const shipped = [...readFileSync(join(ROOT, 'packaging', 'web.conf'), 'utf8').matchAll(/^#?([A-Z][A-Za-z]+)=/gm)].map((m) => m[1]);
    expect(shipped.length).toBeGreaterThanOrEqual(7);
    const documented = tags(section(page, 'CONFIGURATION')).map((t) => /^([A-Z][A-Za-z]+)=/.exec(t)?.[1]).filter((k): k is string => !!k);
    expect(sorted(documented)).toEqual(sorted(shipped));
    const error = (text: string): string => { try { parseWebConfig(text); return ''; } catch (e) { return (e as Error).message; } };
    expect(error('[Web]\nNoSuchKey=1\n')).toMatch(/unknown key NoSuchKey/);
    for (const k of shipped) expect(error(`[Web]\n${k}=`), k).not.toMatch(/unknown key/); // a key the parser knows
  });
});

describe('man --warnings (as lintian renders the pages)', () => {
  const haveMan = spawnSync('sh', ['-c', 'command -v man'], { encoding: 'utf8' }).status === 0;
  for (const page of PAGES) {
    it.skipIf(!haveMan)(`${page} renders without a warning`, () => {
      const r = spawnSync('man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', join(MAN, page)], {
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C.UTF-8', MANROFFSEQ: '', MANWIDTH: '80' },
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(1000);
    });
  }
  if (!haveMan) console.warn('man-completion: `man` is not installed: the man --warnings checks are SKIPPED (apt-get install man-db groff-base)');
});
