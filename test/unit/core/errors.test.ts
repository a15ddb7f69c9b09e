// Unit: the error catalogue is held to docs/errors.md, the interface XML and the PAM hook.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeFromDbusName, dbusErrorName, DiycloudError, ERROR_CATALOGUE, ERROR_CODES } from '../../../src/core/errors';

const REPO = join(__dirname, '../../..');
const read = (p: string) => readFileSync(join(REPO, p), 'utf8');

describe('the error catalogue', () => {
  it('has unique exit codes, none of them 0', () => {
    const codes = ERROR_CODES.map((c) => ERROR_CATALOGUE[c].exitCode);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).not.toContain(0);
  });

  it('gives every code an HTTP error status', () => {
    for (const c of ERROR_CODES) expect(ERROR_CATALOGUE[c].httpStatus, c).toBeGreaterThanOrEqual(400);
    for (const c of ERROR_CODES) expect(ERROR_CATALOGUE[c].httpStatus, c).toBeLessThan(600);
  });

  it('maps codes to D-Bus names and back', () => {
    for (const c of ERROR_CODES) expect(codeFromDbusName(dbusErrorName(c))).toBe(c);
    expect(codeFromDbusName('org.diycloud.Manager1.Error.toString')).toBeUndefined();
    expect(codeFromDbusName('org.freedesktop.DBus.Error.Failed')).toBeUndefined();
  });

  it('matches docs/errors.md row for row', () => {
    const rows = [...read('docs/errors.md').matchAll(/^\| (\w+) \| `([^`]+)` \| (\d+) \| (\d+) \| ([\w-]+) \| (.+) \|$/gm)].map((m) => ({ code: m[1], name: m[2], exit: Number(m[3]), http: Number(m[4]), hook: m[5], summary: m[6] }));
    expect(rows.map((r) => r.code)).toEqual(ERROR_CODES);
    for (const r of rows) {
      const spec = ERROR_CATALOGUE[r.code as keyof typeof ERROR_CATALOGUE];
      expect(r).toEqual({ code: r.code, name: dbusErrorName(r.code as never), exit: spec.exitCode, http: spec.httpStatus, hook: spec.hook, summary: spec.summary });
    }
  });

  it('is listed in the interface XML', () => {
    const xml = read('dbus/org.diycloud.Manager1.xml');
    const listed = /Errors are org\.diycloud\.Manager1\.Error\.<Code>[^:]*:\s*([\s\S]*?)\.\s*-->/.exec(xml)?.[1].split(/[\s,]+/).filter(Boolean);
    expect(listed).toEqual(ERROR_CODES);
  });

  it('gives the PAM hook exactly the "allow" codes', () => {
    const list = /ALLOW_ERRORS\[\] = \{([^}]*)\}/.exec(read('pam/hook-core.c'))?.[1] ?? '';
    const allow = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(allow).toEqual(ERROR_CODES.filter((c) => ERROR_CATALOGUE[c].hook === 'allow').map(dbusErrorName));
  });

  it('DiycloudError keeps code, field and cause', () => {
    const cause = new Error('low level');
    const e = new DiycloudError('InvalidArgument', 'user: bad', { field: 'user', cause });
    expect([e.code, e.field, e.cause, e.message]).toEqual(['InvalidArgument', 'user', cause, 'user: bad']);
  });
});
