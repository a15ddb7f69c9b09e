// [Web]: the web session timeouts, the per-user cap and the failed-login throttle (src/core/config.ts).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config';
import { parseLoginDefs } from '../../../src/core/ini';

const defs = parseLoginDefs('UID_MIN 1000\nUID_MAX 60000\n');

describe('[Web]', () => {
  it('has the documented defaults', () => {
    expect(parseConfig('', defs).web).toEqual({ idleSec: 1800, absoluteSec: 43200, maxSessionsPerUser: 16, loginFailuresPerUser: 5, loginFailuresPerAddress: 20, loginFailureWindowSec: 900 });
  });

  it('reads each key, durations with units', () => {
    const c = parseConfig('[Web]\nIdleTimeoutSec=10min\nAbsoluteTimeoutSec=2h\nMaxSessionsPerUser=3\nLoginFailuresPerUser=7\nLoginFailuresPerAddress=50\nLoginFailureWindowSec=60\n', defs);
    expect(c.web).toEqual({ idleSec: 600, absoluteSec: 7200, maxSessionsPerUser: 3, loginFailuresPerUser: 7, loginFailuresPerAddress: 50, loginFailureWindowSec: 60 });
  });

  it.each([
    ['IdleTimeoutSec=5', /\[Web\] IdleTimeoutSec/],
    ['AbsoluteTimeoutSec=31d', /\[Web\] AbsoluteTimeoutSec/],
    ['MaxSessionsPerUser=0', /\[Web\] MaxSessionsPerUser: must be between 1 and 256/],
    ['LoginFailuresPerUser=x', /\[Web\] LoginFailuresPerUser: expected a whole number/],
    ['PamService=login', /PamService/],
  ])('refuses %s', (line, message) => {
    expect(() => parseConfig(`[Web]\n${line}\n`, defs)).toThrow(message);
  });
});
