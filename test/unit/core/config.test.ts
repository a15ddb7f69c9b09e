// Unit: configuration parsing and validation.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config';
import { parseLoginDefs } from '../../../src/core/ini';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const defs = { uidMin: 1000, uidMax: 60000 };

describe('parseConfig', () => {
  it('an empty file means the documented defaults', () => {
    const c = parseConfig('', defs);
    expect(c.defaults).toEqual({ cpuCores: 1, memoryMaxBytes: 2 * 1024 ** 3, diskQuotaBytes: 5 * 1024 ** 3, gpus: { kind: 'none' }, tasksMax: null });
    expect(c.hook).toEqual({ failureMode: 'open', timeoutMs: 2000, busAddress: 'unix:path=/run/dbus/system_bus_socket', runtimeDirectory: '/run/diycloud' });
    expect(c).toMatchObject({ uidMin: 1000, uidMax: 60000, aboveMachine: 'clamp', backend: { cgroups: 'auto', databasePath: '/var/lib/diycloud/diycloud.db' } });
    expect(c.quota).toEqual({ paths: null, softShare: 0.9, gracePeriodSec: 7 * 86400 });
    expect(c.floor.minDiskBytes).toBe(16 * 1024 ** 2);
  });
  it('the shipped example file (all keys commented) parses to the same defaults', () => {
    const text = readFileSync(join(__dirname, '../../../packaging/diycloud.conf'), 'utf8');
    expect(parseConfig(text, defs)).toEqual(parseConfig('', defs));
    // and with every key uncommented, too
    const all = text.replace(/^#([A-Z][A-Za-z]*=)/gm, '$1');
    expect(parseConfig(all, defs)).toEqual(parseConfig('', defs));
  });
  it('reads values', () => {
    const c = parseConfig('[Defaults]\nCPU = 0.5\nMemory=1G\nTasks=500\nGPU=yes\n[Hook]\nFailureMode=closed\nTimeoutSec=0.5\n[Users]\nUIDMin=2000\n', defs);
    expect(c.defaults).toMatchObject({ cpuCores: 0.5, memoryMaxBytes: 1024 ** 3, tasksMax: 500, gpus: { kind: 'all' } });
    expect(c.hook).toMatchObject({ failureMode: 'closed', timeoutMs: 500 });
    expect(c.uidMin).toBe(2000);
  });
  it.each([
    ['[Hook]\nTimeoutSec=forever\n', /\[Hook\] TimeoutSec: expected a positive number/],
    ['[Hook]\nTimeoutSec=60\n', /\[Hook\] TimeoutSec: must be between 0 and 30/],
    ['[Hook]\nFailureMode=maybe\n', /\[Hook\] FailureMode: .*'open' \| 'closed'/],
    ['[Hook]\nFailuremode=open\n', /\[Hook\] unknown key "Failuremode"/],
    ['[Hooks]\nFailureMode=open\n', /unknown section "Hooks"/],
    ['[Defaults]\nMemory=2 G\n', /\[Defaults\] Memory: "2 G" is not a size/],
    ['[Defaults]\nCPU=0.01\n', /must not be below/],
    ['[Users]\nUIDMin=5000\nUIDMax=10\n', /UIDMin \(5000\) must be at least 1 and not above UIDMax \(10\)/],
    ['[Limits]\nRatchetIntervalSec=0\n', /\[Limits\] RatchetIntervalSec: must be between 1 and 3600/],
    ['[Limits]\nMinCPU=0\n', /\[Limits\] MinCPU: must be above 0/],
    ['[Defaults]\nCPU=0\n', /\[Defaults\] CPU: must be above 0/],
    ['[Backend]\nDatabase=relative.db\n', /\[Backend\] Database: must be an absolute path/],
    ['Memory=2G\n', /must be inside a \[Section\]/],
    ['[Hook]\nTimeoutSec=1\nTimeoutSec=2\n', /TimeoutSec is set twice/],
    ['[Hook]\nnonsense\n', /diycloud.conf:2: expected "Key=Value"/],
  ])('rejects %j, naming the key', (text, msg) => {
    expect(() => parseConfig(text, defs)).toThrow(msg);
  });
  it('takes the UID range from login.defs when [Users] is silent', () => {
    expect(parseLoginDefs('# x\nUID_MIN\t\t 500\nUID_MAX 20000\n')).toEqual({ uidMin: 500, uidMax: 20000 });
    expect(parseLoginDefs('')).toEqual({ uidMin: 1000, uidMax: 60000 });
    expect(parseConfig('', { uidMin: 500, uidMax: 20000 })).toMatchObject({ uidMin: 500, uidMax: 20000 });
  });
});

