// The cgroupfs v1 devices adapter on this host's kernel: mknod'd GPU nodes at 0666 are EPERM without a grant,
// ENXIO (no driver) with one; /dev/null, urandom, fuse, tun and a pty keep working; the GpuAccess contract holds.

import { afterAll, beforeAll, describe, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupfsV1Devices } from '../../src/adapters/cgroupfs/cgroupfs-devices';
import { discoverGpus, groupsFromEtcGroup } from '../../src/adapters/gpu/devfs-gpus';
import type { GpuInventory } from '../../src/core/gpu';
import { GPU_ACCESS_CONTRACT, PROBES, type Probe } from '../contract/gpu-access-contract';

/** Test UIDs 4600-4619; every group made for them is removed afterwards. */
const UID = 4600;
const MOUNT = '/sys/fs/cgroup/devices';
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'not root' : !existsSync(`${MOUNT}/devices.list`) ? `no cgroup v1 devices hierarchy at ${MOUNT}` : null;
if (skip) console.warn(`*** cgroupfs v1 devices integration tests SKIPPED: ${skip} ***`);

/** Runs in the child after it was moved into the user's device group: opens each node, and a pty with /dev/tty through script(1). */
const CHILD = `
process.stdin.once('data', () => {
  const fs = require('node:fs');
  const out = {};
  for (const [name, p] of JSON.parse(process.argv[1])) {
    try { fs.closeSync(fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_NONBLOCK)); out[name] = 'ok'; } catch (e) { out[name] = e.code; }
  }
  const r = require('node:child_process').spawnSync('/usr/bin/script', ['-qec', "sh -c ': </dev/tty'", '/dev/null'], { encoding: 'utf8' });
  out.pty = r.status === 0 ? 'ok' : 'EPERM';
  out.ptyDetail = (r.stdout + r.stderr).trim();
  process.stdout.write(JSON.stringify(out));
});`;

describe.skipIf(skip !== null)('CgroupfsV1Devices on the host\'s devices controller', () => {
  let dir: string;
  let inventory: GpuInventory;
  const children: ChildProcess[] = [];
  const madeParent = !existsSync(`${MOUNT}/diycloud`);
  const gpu = new CgroupfsV1Devices(MOUNT);
  const path = (n: string) => join(dir, 'dev', n);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'diycloud-devcg-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'dev'), { mode: 0o755 });
    mkdirSync(join(dir, 'empty'));
    for (const [n, ma, mi] of [['nvidia0', 195, 0], ['nvidia1', 195, 1], ['nvidiactl', 195, 255], ['fuse', 10, 229], ['tun', 10, 200]] as const) {
      const r = spawnSync('/usr/bin/mknod', ['-m', '0666', '--', path(n), 'c', String(ma), String(mi)]);
      if (r.status !== 0) throw new Error(`mknod ${n}: ${r.stderr}`);
    }
    writeFileSync(path('held'), '');
    // The real discovery over the mknod'd nodes: stat's rdev gives the numbers.
    inventory = discoverGpus(groupsFromEtcGroup(readFileSync('/etc/group', 'utf8')), { dev: join(dir, 'dev'), proc: join(dir, 'empty'), sys: join(dir, 'empty') });
    // Its paths are /dev/…; the nodes live in the temp dir (the cgroup checks numbers, not paths).
    inventory = { ...inventory, nodes: inventory.nodes.map((n) => ({ ...n, path: n.path.replace('/dev/', `${dir}/dev/`) })) };
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (let i = 0; i < 100; i++) {
      for (let u = UID; u < UID + 20; u++) if (existsSync(`${MOUNT}/diycloud/user-${u}`)) try { rmdirSync(`${MOUNT}/diycloud/user-${u}`); } catch { /* a child still exiting */ }
      if (![...Array(20).keys()].some((k) => existsSync(`${MOUNT}/diycloud/user-${UID + k}`))) break;
      spawnSync('/bin/sleep', ['0.05']);
    }
    if (madeParent && existsSync(`${MOUNT}/diycloud`)) rmdirSync(`${MOUNT}/diycloud`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function probe(uid: number): Promise<Record<Probe, string>> {
    const targets = [['gpu0', path('nvidia0')], ['gpu1', path('nvidia1')], ['ctl', path('nvidiactl')], ['null', '/dev/null'], ['urandom', '/dev/urandom'], ['fuse', path('fuse')], ['tun', path('tun')]];
    const c = spawn(process.execPath, ['-e', CHILD, JSON.stringify(targets)], { uid, gid: uid, env: { PATH: '/usr/bin:/bin' }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let err = '';
    c.stdout!.on('data', (b: Buffer) => (out += b));
    c.stderr!.on('data', (b: Buffer) => (err += b));
    const exited = new Promise<void>((r) => c.once('close', () => r()));
    if ((await gpu.placeProcess(uid, c.pid!)) !== 'placed') throw new Error('placeProcess did not place the prober');
    const line = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1] === 'devices');
    if (line?.split(':')[2] !== `/diycloud/user-${uid}`) throw new Error(`prober is in ${line}, not diycloud/user-${uid}`);
    c.stdin!.end('go\n');
    await exited;
    if (!out) throw new Error(`prober failed: ${err}`);
    const r = JSON.parse(out) as Record<Probe | 'ptyDetail', string>;
    for (const p of PROBES) if (!(p in r)) throw new Error(`prober gave no ${p}: ${out}`);
    return r;
  }

  async function hold(uid: number): Promise<{ pid: number; path: string; stop(): Promise<void> }> {
    const fd = openSync(path('held'), 'r');
    const c = spawn('/bin/sleep', ['30'], { uid, gid: uid, env: {}, stdio: [fd, 'ignore', 'ignore'] });
    closeSync(fd);
    children.push(c);
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    await new Promise((r) => setTimeout(r, 50));
    return { pid: c.pid!, path: path('held'), stop: async () => { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); await exited; } };
  }

  it('discovers the mknod\'d nodes with their device numbers and GPU indices', () => {
    const byName = Object.fromEntries(inventory.nodes.map((n) => [n.path.split('/').pop(), `${n.major}:${n.minor} ${String(n.owner)}`]));
    if (byName.nvidia0 !== '195:0 0' || byName.nvidia1 !== '195:1 1' || byName.nvidiactl !== '195:255 shared') throw new Error(JSON.stringify(byName));
    if (inventory.devices.map((d) => d.index).join(',') !== '0,1') throw new Error(JSON.stringify(inventory.devices));
  });

  it.each(GPU_ACCESS_CONTRACT.map((c) => [c.name, c] as const))('contract: %s', async (_n, c) => {
    await c.run({ gpu, uid: UID, inventory, procDevices: readFileSync('/proc/devices', 'utf8'), probe, hold });
  }, 30_000);

  it('the policy shows in devices.list, and without a grant a GPU open is EPERM while the driver-less ENXIO shows when granted', async () => {
    const { planDevicePolicy, parseProcDevices } = await import('../../src/core/device-rules');
    await gpu.apply(UID + 1, planDevicePolicy({ kind: 'some', indices: [1] }, inventory, parseProcDevices(readFileSync('/proc/devices', 'utf8'))));
    const list = readFileSync(`${MOUNT}/diycloud/user-${UID + 1}/devices.list`, 'utf8');
    for (const want of ['c 195:1 rwm', 'c 195:255 rwm', 'c 1:* rwm', 'c 136:* rwm', 'b *:* rwm']) if (!list.includes(want)) throw new Error(`devices.list lacks ${want}: ${list}`);
    if (/c 195:0 |c 195:\* /.test(list)) throw new Error(`devices.list opens GPU 0: ${list}`);
    const r = await probe(UID + 1);
    if (r.gpu0 !== 'EPERM' || r.gpu1 !== 'ENXIO' || r.ctl !== 'ENXIO') throw new Error(`expected EPERM for GPU 0 and ENXIO for GPU 1 and nvidiactl: ${JSON.stringify(r)}`);
  }, 30_000);
});
