// Installs diycloud into an unpacked VM rootfs the documented way (Node 18 runtime modules, install.sh --destdir),
// and the chroot commands that enable it: shared by the VM tests.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRuntimeModules, REPO_ROOT } from './container';

export async function installIntoRootfs(rootDir: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'diycloud-vm-modules-'));
  try {
    const modules = await buildRuntimeModules(rootDir, work);
    await promisify(execFile)(join(REPO_ROOT, 'packaging/install.sh'), ['--destdir', rootDir, '--node-modules', modules],
      { timeout: 300_000, maxBuffer: 16 << 20 });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Run inside a chroot of the rootfs before imaging: the documented enable steps. */
export const ENABLE_DIYCLOUD = ['DEBIAN_FRONTEND=noninteractive pam-auth-update --enable diycloud', 'systemctl enable diycloudd.service'];
