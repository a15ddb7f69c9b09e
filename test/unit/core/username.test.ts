// Unit: user name validation.
import { describe, expect, it } from 'vitest';
import { isValidUsername, validateUsername } from '../../../src/core/username';

describe('validateUsername', () => {
  it.each(['alice', '_svc', 'a', 'bob-2', 'x_y', 'a'.repeat(32)])('accepts %j', (n) => expect(validateUsername(n)).toBe(n));
  it.each(['', 'Alice', '-x', '1abc', '12345', 'a:b', 'a/b', 'a b', 'a\tb', 'a\nb', 'a\u0000', 'a'.repeat(33), 'a'.repeat(1 << 20), 'é', 'a$', '.a'])(
    'rejects %j',
    (n) => {
      expect(isValidUsername(n)).toBe(false);
      expect(() => validateUsername(n)).toThrow(/user: /);
    },
  );
  it('rejects non-strings', () => {
    expect(() => validateUsername(42)).toThrow(/required/);
    expect(isValidUsername(undefined)).toBe(false);
  });
  it('keeps error messages short and printable for hostile input', () => {
    try {
      validateUsername('a\u001b[31m' + 'x'.repeat(100));
    } catch (e) {
      expect((e as Error).message).not.toMatch(/\u001b/);
      expect((e as Error).message.length).toBeLessThan(200);
    }
  });
});
