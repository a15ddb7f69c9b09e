// GPU discovery under the shipped unit, in a real systemd container with mknod'd 0666 NVIDIA and DRM nodes: the Gpus
// property and diycloudctl status list them with their indices and numbers, and a login puts the device policy on the slice.
// Control: with PrivateDevices=yes (the unit before issue 7) the same daemon finds no GPU nodes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootWithDiycloud, e2eSkip, type Container } from './lib/container';

const skip = e2eSkip();
const USER = 'gpuuser1';

interface Gpus {
  devices: { index: number; nodes: string[] }[];
  nodes: { path: string; major: number | null; minor: number | null; owner: number | string; mode: number }[];
  sharedNodes: string[];
  enforceable: boolean;
  reason: string;
  enforcement?: { backend: string; state: string; reason: string };
}

describe.skipIf(skip)('GPU discovery under the shipped unit (bookworm container)', () => {
  let c: Container;
  const gpus = async (): Promise<Gpus> => {
    const out = (await c.exec('busctl --json=short get-property org.diycloud.Manager1 /org/diycloud/Manager1 org.diycloud.Manager1 Gpus')).stdout;
    return JSON.parse((JSON.parse(out) as { data: string }).data) as Gpus;
  };
  const restart = async () => {
    await c.exec('systemctl daemon-reload && systemctl restart diycloudd.service && systemctl is-active diycloudd.service', { timeoutMs: 60_000 });
  };

  beforeAll(async () => {
    c = await bootWithDiycloud('bookworm');
    await c.exec(`set -e; mknod -m 0666 /dev/nvidia0 c 195 0; mknod -m 0666 /dev/nvidia1 c 195 1; mknod -m 0666 /dev/nvidiactl c 195 255;
      mknod -m 0666 /dev/nvidia-uvm c 508 0; mkdir -p /dev/dri; mknod -m 0660 /dev/dri/renderD128 c 226 128; chgrp render /dev/dri/renderD128 || true`);
    await c.exec('systemctl enable --now diycloudd.service', { timeoutMs: 60_000 });
  }, 900_000);

  afterAll(async () => {
    await c?.stop();
  }, 60_000);

  it('the unit keeps the device sandbox: no private /dev, DevicePolicy=closed', async () => {
    const r = (await c.exec('systemctl show -p PrivateDevices -p DevicePolicy diycloudd')).stdout.trim().split('\n').sort();
    expect(r).toEqual(['DevicePolicy=closed', 'PrivateDevices=no']);
  });

  it('Gpus lists both GPUs by device minor, their nodes with numbers, the shared nodes, and the backend that enforces', async () => {
    const g = await gpus();
    expect(g.devices.map((d) => [d.index, d.nodes])).toEqual([[0, ['/dev/nvidia0']], [1, ['/dev/nvidia1']]]);
    const byPath = Object.fromEntries(g.nodes.map((n) => [n.path, `${n.major}:${n.minor} ${n.owner}`]));
    expect(byPath).toMatchObject({ '/dev/nvidia0': '195:0 0', '/dev/nvidia1': '195:1 1', '/dev/nvidiactl': '195:255 shared', '/dev/nvidia-uvm': '508:0 shared', '/dev/dri/renderD128': '226:128 unassigned' });
    expect(g.sharedNodes).toEqual(['/dev/nvidia-uvm', '/dev/nvidiactl']);
    expect(g.enforceable).toBe(false); // 0666: groups alone hold nobody back
    expect(g.reason).toMatch(/read\/write for everyone/);
    expect(g.enforcement).toMatchObject({ backend: 'systemd', state: 'device cgroup' });
  });

  it('diycloudctl status shows them', async () => {
    const r = await c.exec('diycloudctl status');
    expect(r.stdout).toMatch(/^GPUs: /m);
    expect(r.stdout).not.toMatch(/no GPU device nodes found/);
  });

  it('a login puts DevicePolicy=closed on the slice: the session classes by name, no NVIDIA node for a user without GPUs', async () => {
    await c.exec(`useradd -m -s /bin/bash ${USER}`);
    const uid = Number((await c.exec(`id -u ${USER}`)).stdout.trim());
    await c.exec(`pamtester -v login ${USER} open_session close_session`, { allowFail: true, timeoutMs: 30_000 });
    let props = '';
    for (let i = 0; i < 50 && !/DevicePolicy=closed/.test(props); i++) {
      props = (await c.exec(`systemctl show user-${uid}.slice -p DevicePolicy -p DeviceAllow`)).stdout;
      if (!/DevicePolicy=closed/.test(props)) await new Promise((r) => setTimeout(r, 100));
    }
    expect(props).toMatch(/DevicePolicy=closed/);
    expect(props).toMatch(/char-pts rw/);
    expect(props).toMatch(/char-misc rw/);
    expect(props).not.toMatch(/nvidia/);
    // a runtime drop-in (survives daemon-reload)
    await c.exec('systemctl daemon-reload');
    expect((await c.exec(`systemctl show user-${uid}.slice -p DevicePolicy --value`)).stdout.trim()).toBe('closed');
    expect((await c.exec(`ls /run/systemd/system.control/user-${uid}.slice.d/`)).stdout).toMatch(/DeviceAllow|DevicePolicy/);
  });

  it('control: under PrivateDevices=yes the daemon sees a private /dev and finds no GPU nodes (what issue 8 saw)', async () => {
    await c.exec('mkdir -p /run/systemd/system/diycloudd.service.d && printf "[Service]\\nPrivateDevices=yes\\n" > /run/systemd/system/diycloudd.service.d/50-private-devices.conf');
    try {
      await restart();
      expect((await gpus()).reason).toBe('no GPU device nodes found');
    } finally {
      await c.exec('rm -f /run/systemd/system/diycloudd.service.d/50-private-devices.conf');
      await restart();
    }
    expect((await gpus()).devices.length).toBe(2);
  });
});
