// Unit: the D-Bus adapter decodes a{sv} limits and options strictly (wire types), before any use case runs.
import { Variant } from 'dbus-next';
import { describe, expect, it } from 'vitest';
import { limits, options } from '../../../src/adapters/dbus/decode';

const v = (signature: string, value: unknown) => new Variant(signature, value);

describe('limits a{sv}', () => {
  it('hands plain values to the use case: doubles, strings, booleans, and 64-bit integers as numbers', () => {
    expect(limits({ cpu: v('d', 1.5), memory: v('s', '2G'), disk: v('t', 10n * 1024n ** 3n), gpu: v('b', true), tasks: v('t', 500n) })).toEqual({
      cpu: 1.5, memory: '2G', disk: 10 * 1024 ** 3, gpu: true, tasks: 500,
    });
  });
  it.each([
    [{ cpu: v('s', '1') }, /limits\.cpu: expected type d or u or t, got s/],
    [{ memory: v('b', true) }, /limits\.memory: expected type s or t, got b/],
    [{ gpu: v('u', 1) }, /limits\.gpu: expected type s or b/],
    [{ gpuRevoke: v('b', true) }, /limits\.gpuRevoke: expected type s/],
    [{ tasks: v('d', 2.5) }, /limits\.tasks: expected type t or u/],
  ])('refuses a known key of the wrong type #%#', (input, msg) => expect(() => limits(input)).toThrow(msg));
  it('passes unknown keys on, so the use case names them with the known ones', () => {
    expect(limits({ colour: v('s', 'red') })).toEqual({ colour: 'red' });
  });
  it('refuses what is not a dictionary, and a __proto__ key', () => {
    expect(() => limits([])).toThrow(/expected a dictionary/);
    const hostile: Record<string, unknown> = {};
    Object.setPrototypeOf(hostile, { x: 1 }); // what dbus-next's decoder makes of a "__proto__" key
    expect(() => limits(hostile)).toThrow(/__proto__/);
  });
});

describe('options a{sv}', () => {
  it('decodes a nested limits dictionary and refuses unknown keys and types', () => {
    expect(options({ limits: v('a{sv}', { cpu: v('d', 2) }), shell: v('s', '/bin/sh') }, { limits: ['a{sv}'], shell: ['s'] }, 'options')).toEqual({ limits: { cpu: 2 }, shell: '/bin/sh' });
    expect(() => options({ force: v('s', 'yes') }, { force: ['b'] }, 'options')).toThrow(/options\.force: expected type b, got s/);
    expect(() => options({ nope: v('b', true) }, { force: ['b'] }, 'options')).toThrow(/unknown key "nope"/);
  });
});
