// Integration: a [Quota] path the daemon cannot use is a typed configuration error at start (exit 2, the message says
// what to fix), before anything is served or changed; and the host's real home filesystem is probed and reported.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './lib/daemon-process';
import { REPO, startTestBus, type TestBus } from './lib/test-bus';

describe('[Quota] Paths at start', () => {
  let bus: TestBus;
  let dir: string;
  beforeAll(async () => {
    bus = await startTestBus();
    dir = mkdtempSync(join(tmpdir(), 'diycloud-quota-conf-'));
  });
  afterAll(async () => {
    await bus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = (conf: string) => {
    const configPath = join(dir, 'diycloud.conf');
    writeFileSync(configPath, `[Users]\nUIDMin=4330\nUIDMax=4339\n[Backend]\nCgroups=none\n${conf}`);
    return run(process.execPath, [join(REPO, 'dist/entry/daemon.js'), '--config', configPath, '--bus-address', bus.address, '--database', join(dir, 'd.db')], { timeoutMs: 20_000 });
  };

  it.each([
    ['a path that does not exist', '/nonexistent-diycloud-quota', /\[Quota\] Paths: \/nonexistent-diycloud-quota does not exist/],
    ['a path that is not a mount point', REPO, /is not a mount point/],
  ])('%s: exit 2, and the message names the key and the fix', async (_what, path, msg) => {
    const r = await start(`[Quota]\nPaths=${path}\n`);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(msg);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /); // no stack trace
  });

  it.each([
    ['a relative path', 'home', /\[Quota\] Paths: expected absolute paths/],
    ['a hostile soft limit', '/\nSoftLimitPercent=9e9', /\[Quota\] SoftLimitPercent: expected a whole percentage/],
    ['a grace period beyond a year', '/\nGracePeriod=400d', /\[Quota\] GracePeriod: expected a duration/],
  ])('%s is refused by the config check (exit 2)', async (_what, value, msg) => {
    const r = await start(`[Quota]\nPaths=${value}\n`);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(msg);
  });

  it.each([
    ['a GPU group that does not exist', '[GPU]\nGroups=video diycloud-no-such-group\n', /\[GPU\] Groups: group "diycloud-no-such-group" does not exist; create it \(groupadd diycloud-no-such-group\)/],
    ['a GPU group name that is no name', '[GPU]\nGroups=Video;rm\n', /\[GPU\] Groups: expected group names separated by spaces/],
    ['a GPU default index list with a negative index', '[Defaults]\nGPU=0,-1\n', /\[Defaults\] GPU: GPU index "-1" is negative/],
  ])('%s: exit 2, and the message says what to fix', async (_what, conf, msg) => {
    const r = await start(conf);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(msg);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /);
  });
});
