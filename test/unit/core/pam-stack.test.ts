// Unit: core/pam-stack.ts over stack texts shaped like authselect's shipped profiles (local, sssd) and pam-auth-update's common-* files.
import { describe, expect, it } from 'vitest';
import {
  composeProfileReadme,
  decidePamMechanism,
  hookInManagedBlock,
  hookLine,
  hookLinesIn,
  insertHookLines,
  parseAuthselectCurrent,
  parsePamLine,
  parseProfileBase,
  profileInSavedState,
} from '../../../src/core/pam-stack';

// A few lines of authselect's profiles/local/system-auth (account and session parts, conditionals kept).
const LOCAL = `auth        required                                     pam_env.so
auth        sufficient                                   pam_unix.so {if not "without-nullok":nullok}
auth        required                                     pam_deny.so

account     required                                     pam_faillock.so                                        {include if "with-faillock"}
account     sufficient                                   pam_systemd_home.so                                    {include if "with-systemd-homed"}
account     required                                     pam_unix.so

session     required                                     pam_limits.so
-session    optional                                     pam_systemd.so
session     [success=1 default=ignore]                   pam_succeed_if.so service in crond quiet use_uid
session     required                                     pam_unix.so
session     optional                                     pam_gnome_keyring.so only_if=login auto_start          {include if "with-pam-gnome-keyring"}
`;

// And of profiles/sssd/system-auth: sufficient lines after pam_unix in the account stack.
const SSSD = `{imply "with-smartcard" if "with-smartcard-required"}
account     required                                     pam_unix.so
account     sufficient                                   pam_localuser.so                                       {exclude if "with-files-access-provider"}
account     sufficient                                   pam_usertype.so issystem
account     [default=bad success=ok user_unknown=ignore] pam_sss.so
account     required                                     pam_permit.so

-session    optional                                     pam_systemd.so
session     [success=1 default=ignore]                   pam_succeed_if.so service in crond quiet use_uid
session     required                                     pam_unix.so
session     optional                                     pam_sss.so
`;

const COMMON_ACCOUNT = `# here are the per-package modules (the "Primary" block)
account	[success=1 new_authtok_reqd=done default=ignore]	pam_unix.so 
# here's the fallback if no module succeeds
account	requisite			pam_deny.so
account	required			pam_permit.so
# and here are more per-package modules (the "Additional" block)
account	required	pam_diycloud.so 
# end of pam-auth-update config
`;

const linesOf = (text: string, type: string) => text.split('\n').filter((l) => parsePamLine(l)?.type === type).map((l) => parsePamLine(l)!.module);

describe('decidePamMechanism', () => {
  it('prefers pam-auth-update, falls back to authselect, else none', () => {
    expect(decidePamMechanism({ pamAuthUpdate: true, authselect: true })).toBe('pam-auth-update');
    expect(decidePamMechanism({ pamAuthUpdate: false, authselect: true })).toBe('authselect');
    expect(decidePamMechanism({ pamAuthUpdate: false, authselect: false })).toBeNull();
  });
});

describe('parseAuthselectCurrent', () => {
  it('reads the profile and features of current --raw', () => {
    expect(parseAuthselectCurrent(0, 'sssd with-faillock with-mkhomedir\n')).toEqual({ profile: 'sssd', features: ['with-faillock', 'with-mkhomedir'] });
    expect(parseAuthselectCurrent(0, 'custom/diycloud\n')).toEqual({ profile: 'custom/diycloud', features: [] });
  });
  it('gives null for "No existing configuration detected." (exit 2), and throws for other failures', () => {
    expect(parseAuthselectCurrent(2, 'No existing configuration detected.\n')).toBeNull();
    expect(() => parseAuthselectCurrent(1, '')).toThrow(/exited with 1/);
    expect(() => parseAuthselectCurrent(0, '\n')).toThrow(/no profile/);
  });
});

describe('insertHookLines', () => {
  it('puts the account line after pam_unix, before the sufficient lines that would skip it (sssd)', () => {
    const { text, changed } = insertHookLines(SSSD);
    expect(changed).toBe(true);
    expect(linesOf(text, 'account')).toEqual(['pam_unix.so', 'pam_diycloud.so', 'pam_localuser.so', 'pam_usertype.so', 'pam_sss.so', 'pam_permit.so']);
    expect(linesOf(text, 'session')).toEqual(['pam_systemd.so', 'pam_succeed_if.so', 'pam_unix.so', 'pam_diycloud.so', 'pam_sss.so']);
    expect(text).toContain(hookLine('account'));
    expect(text.startsWith('{imply')).toBe(true);
  });
  it('puts the session line after pam_systemd and past the crond jump, and leaves everything else byte for byte (local)', () => {
    const { text } = insertHookLines(LOCAL);
    expect(linesOf(text, 'session')).toEqual(['pam_limits.so', 'pam_systemd.so', 'pam_succeed_if.so', 'pam_unix.so', 'pam_diycloud.so', 'pam_gnome_keyring.so']);
    expect(linesOf(text, 'account').at(-1)).toBe('pam_diycloud.so');
    const removed = text.split('\n').filter((l) => !l.includes('pam_diycloud.so')).join('\n');
    expect(removed).toBe(LOCAL);
  });
  it('is idempotent', () => {
    const once = insertHookLines(LOCAL).text;
    expect(insertHookLines(once)).toEqual({ text: once, changed: false });
  });
  it('adds only the missing type', () => {
    const onlyAccount = insertHookLines(LOCAL).text.split('\n').filter((l) => !/^session.*pam_diycloud/.test(l)).join('\n');
    const { text, changed } = insertHookLines(onlyAccount);
    expect(changed).toBe(true);
    expect(text.split('\n').filter((l) => l.includes('pam_diycloud.so'))).toHaveLength(2);
  });
  it('refuses a template without account or session lines, and a jump that spans the place', () => {
    expect(() => insertHookLines('auth required pam_unix.so\nsession required pam_unix.so\n')).toThrow(/no account lines/);
    const jumpy = 'account [success=2 default=ignore] pam_succeed_if.so uid < 1000\naccount required pam_unix.so\naccount required pam_permit.so\nsession required pam_unix.so\n';
    expect(() => insertHookLines(jumpy)).toThrow(/jump/);
  });
});

describe('hookLinesIn and pam-auth-update state', () => {
  it('finds the lines by module name, also with a path or a "-" prefix', () => {
    expect(hookLinesIn(LOCAL)).toEqual({ account: false, session: false });
    expect(hookLinesIn('account required /usr/lib64/security/pam_diycloud.so\n-session required pam_diycloud.so conf=/x\n')).toEqual({ account: true, session: true });
    expect(hookLinesIn('# account required pam_diycloud.so\n')).toEqual({ account: false, session: false });
  });
  it('counts a line only inside the Additional block', () => {
    expect(hookInManagedBlock(COMMON_ACCOUNT, 'account')).toBe(true);
    expect(hookInManagedBlock(COMMON_ACCOUNT, 'session')).toBe(false);
    const outside = COMMON_ACCOUNT.replace('account\trequired\tpam_diycloud.so \n', '') + 'account required pam_diycloud.so\n';
    expect(hookInManagedBlock(outside, 'account')).toBe(false);
  });
  it('reads "Module: diycloud" in /var/lib/pam state', () => {
    expect(profileInSavedState('Module: unix\nrequired\tpam_unix.so\nModule: diycloud\nrequired\tpam_diycloud.so\n')).toBe(true);
    expect(profileInSavedState('Module: unix\nrequired\tpam_unix.so\nModule: diycloud-extra\n')).toBe(false);
  });
  it('round-trips the base profile through the README', () => {
    expect(parseProfileBase(composeProfileReadme('sssd'))).toBe('sssd');
    expect(parseProfileBase(composeProfileReadme('custom/site'))).toBe('custom/site');
    expect(parseProfileBase('Enable SSSD for system authentication.\n')).toBeNull();
  });
});
