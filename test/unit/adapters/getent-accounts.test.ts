// Unit: passwd lines from getent become accounts with their home (what a btrfs quota holds); anything odd is no account.
import { describe, expect, it } from 'vitest';
import { parsePasswdLine } from '../../../src/adapters/accounts/getent-accounts';

describe('parsePasswdLine', () => {
  it('takes the name, the UID and the home', () => {
    expect(parsePasswdLine('alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash', 'alice')).toEqual({ name: 'alice', uid: 1000, home: '/home/alice' });
    expect(parsePasswdLine('ldap:*:5000:5000::/srv/homes/ldap:/bin/sh', 'ldap')).toMatchObject({ home: '/srv/homes/ldap' });
  });
  it('an empty or relative home is none', () => {
    expect(parsePasswdLine('svc:x:1001:1001:::/bin/false', 'svc')).toMatchObject({ home: null });
    expect(parsePasswdLine('odd:x:1002:1002::home/odd:/bin/false', 'odd')).toMatchObject({ home: null });
  });
  it('refuses another name, a non-numeric UID or a short line', () => {
    expect(parsePasswdLine('bob:x:1000:1000::/home/bob:/bin/sh', 'alice')).toBeNull();
    expect(parsePasswdLine('alice:x:10a0:1000::/home/alice:/bin/sh', 'alice')).toBeNull();
    expect(parsePasswdLine('alice:x:1000', 'alice')).toBeNull();
  });
});
