// The HTTP authorization matrix's tables (test/contract/http-authorization.ts) without a container: every route is
// covered or listed with a reason, each case passes its route's schema and makes the call its ROWS row makes, and
// the classification of HTTP answers refuses to count what is not the daemon's answer.
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../../src/adapters/http/routes';
import { busArgsForRoute, classifyHttp, expectedCan, HTTP_CASES, routeCoverage, routeKey } from '../../contract/http-authorization';
import { ROWS } from '../../contract/manager1-authorization';

const t = { target: 'pktarget' };

describe('HTTP authorization matrix tables', () => {
  it('every route is in the matrix or listed with a reason, and every listed route exists', () => {
    expect(routeCoverage()).toEqual([]);
  });

  it('each case passes its route\'s schemas and, where the route makes the same call as the ROWS row, the same busctl arguments', () => {
    const sameAsRow: string[] = [];
    for (const r of ROUTES) {
      const make = HTTP_CASES[routeKey(r)];
      if (!make) continue;
      const args = busArgsForRoute(r, make(t));
      expect(args[0], routeKey(r)).toBe(r.signature);
      if (JSON.stringify(args) === JSON.stringify(ROWS[r.member].args(t))) sameAsRow.push(r.member);
    }
    // most routes reach their member with exactly the row's arguments (the others differ only where the route
    // fixes an argument, e.g. DecideRequest's approve, or names the user, e.g. GetLimitEvents)
    expect(sameAsRow.length).toBeGreaterThanOrEqual(15);
  });

  it('a case that does not pass its route\'s schema is an error, not a request', () => {
    const r = ROUTES.find((x) => routeKey(x) === 'PUT /api/v1/users/{name}/limits')!;
    expect(() => busArgsForRoute(r, { params: { name: 'pktarget' }, body: { cpu: -1 } })).toThrow(/schema/);
  });

  it('classifies answers: only the daemon\'s polkit refusal is a denial; Origin/CSRF refusals, schema refusals and router 404s are defects', () => {
    const err = (code: string, message: string) => JSON.stringify({ error: { code, message } });
    expect(classifyHttp({ status: 204, body: '' })).toEqual({ outcome: 'allowed' });
    expect(classifyHttp({ status: 403, body: err('PermissionDenied', 'not authorized for org.diycloud.manage-limits') })).toMatchObject({ outcome: 'PermissionDenied', action: 'org.diycloud.manage-limits' });
    expect(classifyHttp({ status: 403, body: err('PermissionDenied', 'missing or wrong X-CSRF-Token') }).defect).toMatch(/without a polkit action/);
    expect(classifyHttp({ status: 400, body: err('InvalidArgument', 'body cpu: Number must be greater than 0') }).defect).toMatch(/refused the case/);
    expect(classifyHttp({ status: 404, body: err('NotFound', 'not found') }).defect).toMatch(/no such route/);
    expect(classifyHttp({ status: 404, body: err('NoSuchUser', 'no such user dcnotmanaged') })).toMatchObject({ outcome: 'allowed', code: 'NoSuchUser' });
    expect(classifyHttp({ status: 500, body: 'oops' }).defect).toMatch(/without a catalogue error/);
    expect(classifyHttp({ status: 200, body: 'event: usage\ndata: {}\n\n' }, true)).toEqual({ outcome: 'allowed' });
    expect(classifyHttp({ status: 200, body: `event: error\ndata: ${err('PermissionDenied', 'not authorized for org.diycloud.read-users')}\n\n` }, true)).toMatchObject({ outcome: 'PermissionDenied' });
    expect(classifyHttp({ status: 200, body: '' }, true).defect).toMatch(/no event/);
  });

  it('a local grant changes exactly the granted action in the session\'s "can" flags', () => {
    expect(expectedCan('plain')).toEqual({ readUsers: false, manageLimits: false, manageUsers: false, setEnabled: false });
    expect(expectedCan('plain', [{ who: 'plain', action: 'org.diycloud.manage-limits' }])).toEqual({ readUsers: false, manageLimits: true, manageUsers: false, setEnabled: false });
    expect(expectedCan('operator', [{ who: 'plain', action: 'org.diycloud.manage-users' }]).manageUsers).toBe(false);
  });
});
