// The PAM stack, purely: which tool owns /etc/pam.d, what authselect and pam-auth-update report, and the hook's lines in a stack text.

/** The two tools that own the PAM stack: Debian/Ubuntu's pam-auth-update, Fedora/RHEL's authselect. */
export type PamMechanism = 'pam-auth-update' | 'authselect';

/** The module every hook line loads. */
export const HOOK_MODULE = 'pam_diycloud.so';
/** The pam-auth-update profile (/usr/share/pam-configs/diycloud) and the authselect custom profile's name. */
export const PROFILE_NAME = 'diycloud';
/** How authselect names a custom profile in `select` and `current`. */
export const CUSTOM_PROFILE_ID = `custom/${PROFILE_NAME}`;
/** The two phases the hook runs in (docs/pam-hook.md). */
export const HOOK_TYPES = ['account', 'session'] as const;
export type HookType = (typeof HOOK_TYPES)[number];

/** What `diycloudctl pam status` reports. */
export interface PamStatus {
  readonly mechanism: PamMechanism;
  /** Both hook lines are in force. */
  readonly enabled: boolean;
  /** pam-auth-update: "diycloud"; authselect: the selected profile ("sssd", "custom/diycloud"), null when none is. */
  readonly profile: string | null;
  /** authselect: the features of the selection; pam-auth-update: empty. */
  readonly features: readonly string[];
  /** authselect, while custom/diycloud is selected: the profile it was made from (what `disable` selects again). */
  readonly base: string | null;
  /** One line for a person: what is in force or what is missing. */
  readonly detail: string;
}

/** The port: the tool that owns the PAM stack on this host. enable and disable are idempotent. */
export interface PamConfigurator {
  readonly mechanism: PamMechanism;
  status(): Promise<PamStatus>;
  enable(): Promise<void>;
  disable(): Promise<void>;
}

/** pam-auth-update where it is installed (Debian, Ubuntu), else authselect (Fedora, RHEL), else none. */
export function decidePamMechanism(present: { readonly pamAuthUpdate: boolean; readonly authselect: boolean }): PamMechanism | null {
  if (present.pamAuthUpdate) return 'pam-auth-update';
  if (present.authselect) return 'authselect';
  return null;
}

/** A selection as `authselect current --raw` prints it. */
export interface AuthselectSelection {
  readonly profile: string;
  readonly features: readonly string[];
}

/**
 * `authselect current --raw`: exit 0 and one line "PROFILE [FEATURE ...]"; exit 2 with "No existing
 * configuration detected." when authselect manages nothing (null). Anything else is an error.
 */
export function parseAuthselectCurrent(code: number | null, stdout: string): AuthselectSelection | null {
  if (code === 2 && /No existing configuration detected/.test(stdout)) return null;
  if (code !== 0) throw new Error(`authselect current exited with ${code}`);
  const words = stdout.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) throw new Error('authselect current printed no profile');
  return { profile: words[0], features: words.slice(1) };
}

/** One PAM line split up: its type without the "-" prefix, its control, its module. Null for comments, blanks and other lines. */
export interface PamLine {
  readonly type: string;
  readonly control: string;
  readonly module: string;
}

export function parsePamLine(line: string): PamLine | null {
  const m = /^\s*-?(auth|account|password|session)\s+(\[[^\]]*\]|\S+)\s+(\S+)/.exec(line);
  return m ? { type: m[1], control: m[2], module: m[3] } : null;
}

const isHookLine = (line: string, type: HookType): boolean => {
  const p = parsePamLine(line);
  return p !== null && p.type === type && p.module.replace(/^.*\//, '') === HOOK_MODULE;
};

/** Which hook lines a stack text holds. */
export function hookLinesIn(text: string): Record<HookType, boolean> {
  const lines = text.split('\n');
  return { account: lines.some((l) => isHookLine(l, 'account')), session: lines.some((l) => isHookLine(l, 'session')) };
}

/** The line added to an authselect template, in the shipped profiles' columns. */
export function hookLine(type: HookType): string {
  return `${type.padEnd(12)}${'required'.padEnd(45)}${HOOK_MODULE}`;
}

/** A bracketed control's jumps ("success=1", "default=2"): the numbers of lines skipped. */
function jumpsOf(control: string): number[] {
  if (!control.startsWith('[')) return [];
  return [...control.matchAll(/=(\d+)/g)].map((m) => Number(m[1]));
}

/**
 * Adds the hook's account and session lines to an authselect template (system-auth, password-auth),
 * where the pam-auth-update profile's "Additional" type puts them on Debian: after the type's
 * primary module. Precisely: directly after the type's last `pam_unix.so` line, else after its last
 * line. That place is before the `sufficient` lines that follow pam_unix in the account stacks
 * (pam_localuser, pam_usertype: after them the line would never run for local users), and after
 * pam_systemd in the session stacks (the login's slice exists when the gate runs).
 * Idempotent: a type that has the line already is left alone. Refuses (throws) when the type has no
 * line at all, or when an earlier line's jump (`[success=N]`) spans the place, since an added line
 * would change where that jump lands.
 */
export function insertHookLines(text: string): { text: string; changed: boolean } {
  const lines = text.split('\n');
  let changed = false;
  for (const type of HOOK_TYPES) {
    if (lines.some((l) => isHookLine(l, type))) continue;
    const ofType = lines.map((l, i) => ({ p: parsePamLine(l), i })).filter((x) => x.p?.type === type);
    if (ofType.length === 0) throw new Error(`the template has no ${type} lines`);
    const unix = ofType.filter((x) => x.p!.module === 'pam_unix.so');
    const after = (unix.length ? unix[unix.length - 1] : ofType[ofType.length - 1]).i;
    ofType.forEach((x, k) => {
      if (x.i > after) return;
      const landsAt = jumpsOf(x.p!.control).map((n) => k + n + 1); // index within ofType where the jump lands
      const placeK = ofType.findIndex((y) => y.i === after) + 1;
      if (landsAt.some((t) => t > placeK)) throw new Error(`a jump in "${lines[x.i].trim()}" spans the place for the ${type} line`);
    });
    lines.splice(after + 1, 0, hookLine(type));
    changed = true;
  }
  return { text: lines.join('\n'), changed };
}

/** The custom profile's README: says what it is, and records the profile it was made from. */
export function composeProfileReadme(base: string): string {
  return [
    'diycloud: the profile below plus the pam_diycloud.so account and session lines',
    '(written by diycloudctl pam enable; diycloudctl pam disable selects the base again).',
    '',
    `Base profile: ${base}`,
    '',
  ].join('\n');
}

/** The base profile recorded in that README, or null when it records none. */
export function parseProfileBase(readme: string): string | null {
  const m = /^Base profile: (\S+)\s*$/m.exec(readme);
  return m ? m[1] : null;
}

/** pam-auth-update's markers in the common-* files: its managed "Additional" block runs from here to the end marker. */
const ADDITIONAL_START = /^# and here are more per-package modules \(the "Additional" block\)/;
const BLOCK_END = /^# end of pam-auth-update config/;

/** Whether `common` (a common-account or common-session text) holds the hook's line inside pam-auth-update's Additional block. */
export function hookInManagedBlock(common: string, type: HookType): boolean {
  let inBlock = false;
  for (const line of common.split('\n')) {
    if (ADDITIONAL_START.test(line)) inBlock = true;
    else if (BLOCK_END.test(line)) inBlock = false;
    else if (inBlock && isHookLine(line, type)) return true;
  }
  return false;
}

/** Whether pam-auth-update's saved state (/var/lib/pam/account, …/session) lists the profile: "Module: diycloud". */
export function profileInSavedState(saved: string): boolean {
  return saved.split('\n').some((l) => l.trim() === `Module: ${PROFILE_NAME}`);
}
