// Unit: the bus glue implements exactly the methods and properties the interface XML declares.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseInterfaceXml } from '../../../src/adapters/dbus/interface-xml';
import { managerObject, MANAGER_NAME } from '../../../src/adapters/dbus/manager-object';
import type { AppDeps } from '../../../src/app/deps';

const xml = readFileSync(join(__dirname, '../../../dbus/org.diycloud.Manager1.xml'), 'utf8');

describe('org.diycloud.Manager1 implementation vs dbus/org.diycloud.Manager1.xml', () => {
  const contract = parseInterfaceXml(xml);
  const obj = managerObject({ slices: { backend: 'x' } } as unknown as AppDeps, xml, '0');

  it('declares the interface the daemon serves', () => {
    expect(contract.methods.some((m) => m.iface === MANAGER_NAME)).toBe(true);
    expect(obj.iface).toBe(MANAGER_NAME);
  });

  it('every XML method is implemented with the same in/out signatures, and nothing more', () => {
    const declared = contract.methods.filter((m) => m.iface === MANAGER_NAME).map((m) => `${m.name}(${m.inSig})->(${m.outSig})`).sort();
    const implemented = obj.methods.map((m) => `${m.name}(${m.inSig})->(${m.outSig})`).sort();
    expect(implemented).toEqual(declared);
  });

  it('every XML property is served with its type, read-only', () => {
    const declared = contract.properties.filter((p) => p.iface === MANAGER_NAME).map((p) => `${p.name}:${p.type}:${p.access}`).sort();
    expect(Object.entries(obj.properties).map(([k, p]) => `${k}:${p.type}:read`).sort()).toEqual(declared);
  });

  it('every argument has a name', () => {
    expect(xml.match(/<arg (?![^>]*name=)/g)).toBeNull();
  });
});

describe('request size', () => {
  it('measures decoded bodies, strings by UTF-8 bytes, and stops early past the limit', async () => {
    const { bodySize, MAX_REQUEST_BYTES } = await import('../../../src/adapters/dbus/router');
    expect(bodySize(['ab', 'é'])).toBe(4);
    expect(bodySize([{ key: { signature: 's', value: 'x' } }])).toBe('key'.length + 'signature'.length + 1 + 'value'.length + 1);
    expect(bodySize(['a'.repeat(MAX_REQUEST_BYTES + 1)])).toBeGreaterThan(MAX_REQUEST_BYTES);
  });
});
