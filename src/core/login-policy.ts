// Pure decisions of the login path: whose login is ours, and whether it may proceed.

export interface ManagedRange {
  readonly uidMin: number;
  readonly uidMax: number;
}

export function isManagedUid(uid: number, r: ManagedRange): boolean {
  return uid >= r.uidMin && uid <= r.uidMax;
}

export interface LoginDecision {
  readonly allowed: boolean;
  readonly reason: string;
}

/**
 * The account phase. Users the database does not hold, and users outside the managed range, are
 * not ours to refuse and pass; a database user who is disabled is refused.
 */
export function decideLogin(input: {
  readonly record: { readonly uid: number; readonly enabled: boolean } | null;
  readonly range: ManagedRange;
}): LoginDecision {
  const r = input.record;
  if (r === null) return { allowed: true, reason: 'not managed by diycloud' };
  if (!isManagedUid(r.uid, input.range)) return { allowed: true, reason: 'outside the managed UID range' };
  if (!r.enabled) return { allowed: false, reason: 'account disabled by the diycloud administrator' };
  return { allowed: true, reason: 'ok' };
}
