// systemd's names for a user's slice.

export function userSliceName(uid: number): string {
  return `user-${uid}.slice`;
}

/** Parses "user-1000.slice" into 1000; anything else (user.slice, user-1000-x.slice) gives null. */
export function uidFromSliceName(unit: string): number | null {
  const m = /^user-(0|[1-9][0-9]{0,9})\.slice$/.exec(unit);
  if (!m) return null;
  const uid = Number(m[1]);
  return uid <= 0xfffffffe ? uid : null;
}
