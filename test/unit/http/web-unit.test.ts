import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWebConfig } from '../../../src/core/web-config';

const UNIT = join(__dirname, '../../../systemd/diycloud-web.service');
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const settings = (text: string) => new Map(text.split('\n').filter((l) => /^[A-Z]\w*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('systemd/diycloud-web.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  it('runs unprivileged with no capabilities, no IP and only unix sockets', () => {
    const s = settings(text);
    expect(s.get('User')).toBe('diycloud-web');
    expect(s.get('CapabilityBoundingSet')).toBe('');
    expect(s.get('RestrictAddressFamilies')).toBe('AF_UNIX');
    expect(s.get('IPAddressDeny')).toBe('any');
    expect(s.get('NoNewPrivileges')).toBe('yes');
    expect(s.get('ProtectSystem')).toBe('strict');
    expect(s.get('RuntimeDirectory')).toBe('diycloud/web');
    // the socket path of the unit and of web.conf's default agree
    expect(parseWebConfig('').socketPath.startsWith('/run/diycloud/web/')).toBe(true);
    expect(text).toMatch(/MemoryDenyWriteExecute/); // the exception is written down
  });
  it.skipIf(!analyze)('has an exposure of at most 2.5 (systemd-analyze security --offline)', () => {
    const r = spawnSync(analyze!, ['security', '--offline=yes', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for diycloud-web\.service: ([0-9.]+)/.exec(r.stdout + r.stderr);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.5);
  });
});

describe('web.conf', () => {
  it('gives the defaults for an empty file and reads each key', () => {
    expect(parseWebConfig('')).toEqual({ socketPath: '/run/diycloud/web/web.sock', publicOrigin: null, bodyLimitBytes: 16384, liveIntervalSec: 5, staticDir: '/usr/share/diycloud/web', trustProxy: true, busAddress: null });
    const c = parseWebConfig('[Web]\nSocket=/run/x.sock\nPublicOrigin=https://cloud.example.org\nBodyLimitBytes=4096\nLiveIntervalSec=2\nStaticDir=/srv/web/\nTrustProxy=no\nBusAddress=unix:path=/tmp/b\n');
    expect(c).toEqual({ socketPath: '/run/x.sock', publicOrigin: 'https://cloud.example.org', bodyLimitBytes: 4096, liveIntervalSec: 2, staticDir: '/srv/web', trustProxy: false, busAddress: 'unix:path=/tmp/b' });
  });
  it('refuses unknown keys, relative paths, an origin with a path and out-of-range numbers, naming the key', () => {
    expect(() => parseWebConfig('[Web]\nPort=80\n')).toThrow(/unknown key Port/);
    expect(() => parseWebConfig('[Web]\nStaticDir=web\n')).toThrow(/StaticDir: must be an absolute path/);
    expect(() => parseWebConfig('[Web]\nPublicOrigin=https://x.org/portal\n')).toThrow(/PublicOrigin/);
    expect(() => parseWebConfig('[Web]\nBodyLimitBytes=10\n')).toThrow(/BodyLimitBytes/);
  });
  it('the shipped web.conf parses to the defaults', () => {
    expect(parseWebConfig(readFileSync(join(__dirname, '../../../packaging/web.conf'), 'utf8'))).toEqual(parseWebConfig(''));
  });
});
