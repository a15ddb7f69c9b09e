// The authorization matrix through a web session (org.diycloud.Web1.Call) against the same matrix on the bus:
// for every Manager1 row and caller, both paths must give the same outcome, and it must be the policy's.
// Shared by the integration test (fake polkit) and the e2e test (real polkitd).

import { splitSignature } from '../../src/adapters/dbus/signature';
import { classify, expectedOutcome, ROWS, rowCall, type Grant, type Targets } from './manager1-authorization';
import type { RunResult, Who } from './polkit-contract';

export const WEB = ['org.diycloud.Manager1', '/org/diycloud/Web1', 'org.diycloud.Web1'] as const;

/**
 * busctl arguments of Web1.Call(token, member, av) for a row's Manager1 call: each in-argument
 * becomes one variant, written as busctl writes variants (type, then the value's own tokens).
 * Handles the types the rows use: basic types (one token) and a{sv} of basic values.
 */
export function webCallArgs(token: string, busctlArgs: string[]): string[] {
  const i = busctlArgs.indexOf('call');
  const [member, sig = '', ...values] = busctlArgs.slice(i + 4);
  const out: string[] = [];
  const types = splitSignature(sig);
  for (const t of types) {
    if (t === 'a{sv}') {
      const n = Number(values.shift());
      out.push(t, String(n));
      for (let k = 0; k < n; k++) out.push(values.shift()!, values.shift()!, values.shift()!);
    } else if (/^a[a-z]$/.test(t)) {
      const n = Number(values.shift());
      out.push(t, String(n), ...values.splice(0, n));
    } else if (t.length === 1) out.push(t, values.shift()!);
    else throw new Error(`webCallArgs: type ${t} not handled`);
  }
  return ['call', ...WEB, 'Call', 'ssav', token, member, String(types.length), ...out];
}

/**
 * Every non-root row, as each caller, over the bus and through the caller's web session. Root-only
 * rows must be refused through the web for everyone (InvalidArgument): the login path and Reconcile
 * are never reachable from a browser. Returns the mismatches as lines (empty: the paths agree).
 * `grants`: local polkit rules beyond the shipped policy; `members`: only these rows (the introspected ones).
 */
export async function compareWebMatrix(t: Targets, callers: readonly Who[], bus: (who: Who, args: string[]) => Promise<RunResult>, web: (who: Who, args: string[]) => Promise<RunResult>, grants: readonly Grant[] = [], members?: ReadonlySet<string>): Promise<{ problems: string[]; compared: number }> {
  const problems: string[] = [];
  let compared = 0;
  for (const [name, row] of Object.entries(ROWS)) {
    if (members && !members.has(name)) continue;
    for (const who of callers) {
      const args = rowCall(name, row, t);
      const w = await web(who, args);
      if (row.need === 'root') {
        if (w.code === 0 || !/cannot be called through a web session/.test(w.stderr)) problems.push(`${name} via web as ${who}: root-only, want refused, got exit ${w.code} ${w.stderr.trim()}`);
        continue;
      }
      const b = await bus(who, args);
      const [gb, gw] = [classify(b), classify(w)];
      const want = expectedOutcome(who, row, grants);
      compared++;
      if (gb.outcome !== gw.outcome || gw.outcome !== want || gb.action !== gw.action) {
        problems.push(`${name} as ${who}: bus ${gb.outcome}${gb.action ? ` (${gb.action})` : ''}, web ${gw.outcome}${gw.action ? ` (${gw.action})` : ''}, policy ${want}: web said ${w.stderr.trim()}`);
      }
    }
  }
  return { problems, compared };
}
