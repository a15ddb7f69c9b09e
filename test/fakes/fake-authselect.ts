// Sets up the fake authselect (fake-authselect.cjs) in a temporary root: vendor profiles "local" and "sssd" shaped like the shipped ones.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeAuthselect {
  /** The program to run (absolute; a wrapper that names the root). */
  readonly program: string;
  /** Its /etc/authselect. */
  readonly configDir: string;
  readonly root: string;
  remove(): void;
}

// A few lines of authselect's profiles/local/system-auth and profiles/sssd/system-auth (account and session parts).
const LOCAL = `auth        required                                     pam_env.so
auth        required                                     pam_faillock.so preauth silent                         {include if "with-faillock"}
auth        sufficient                                   pam_unix.so {if not "without-nullok":nullok}
auth        required                                     pam_deny.so

account     required                                     pam_faillock.so                                        {include if "with-faillock"}
account     required                                     pam_unix.so

session     required                                     pam_limits.so
-session    optional                                     pam_systemd.so
session     [success=1 default=ignore]                   pam_succeed_if.so service in crond quiet use_uid
session     required                                     pam_unix.so
`;
const SSSD = `{imply "with-smartcard" if "with-smartcard-required"}
auth        required                                     pam_env.so
auth        sufficient                                   pam_sss.so forward_pass
auth        required                                     pam_deny.so

account     required                                     pam_unix.so
account     sufficient                                   pam_localuser.so                                       {exclude if "with-files-access-provider"}
account     [default=bad success=ok user_unknown=ignore] pam_sss.so
account     required                                     pam_permit.so

-session    optional                                     pam_systemd.so
session     required                                     pam_unix.so
session     optional                                     pam_sss.so
`;

export const FAKE_PROFILES: Record<string, string> = { local: LOCAL, sssd: SSSD };

/** A fresh root with the two vendor profiles and no selection (`current` says "No existing configuration detected."). */
export function installFakeAuthselect(): FakeAuthselect {
  const root = mkdtempSync(join(tmpdir(), 'diycloud-fake-authselect-'));
  for (const [id, stack] of Object.entries(FAKE_PROFILES)) {
    const dir = join(root, 'usr/share/authselect/default', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'README'), `Fake ${id} profile.\n`);
    writeFileSync(join(dir, 'REQUIREMENTS'), '');
    writeFileSync(join(dir, 'system-auth'), stack);
    writeFileSync(join(dir, 'password-auth'), stack);
    writeFileSync(join(dir, 'postlogin'), 'session     optional                   pam_umask.so silent\n');
    writeFileSync(join(dir, 'nsswitch.conf'), 'passwd:     files {if "with-altfiles":altfiles }systemd\n');
    writeFileSync(join(dir, 'dconf-db'), '');
  }
  mkdirSync(join(root, 'etc/authselect/custom'), { recursive: true });
  const program = join(root, 'authselect');
  writeFileSync(program, `#!/bin/sh\nFAKE_AUTHSELECT_ROOT='${root}' exec ${process.execPath} '${join(__dirname, 'fake-authselect.cjs')}' "$@"\n`);
  chmodSync(program, 0o755);
  return { program, configDir: join(root, 'etc/authselect'), root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
