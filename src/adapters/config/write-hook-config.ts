// Writes the PAM hook's resolved settings to RuntimeDirectory/hook.conf, atomically.

import { chmodSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHookConfig, type Config } from '../../core/config';
import type { Logger } from '../../core/ports';

/**
 * Only when the runtime directory exists (systemd creates it from RuntimeDirectory=): a daemon
 * started by hand never creates directories under /run. Failure is logged and ignored: the hook
 * then reads the full config itself, which is only slower.
 */
export function writeHookConfig(c: Config, source: string, log: Logger): void {
  const dir = c.hook.runtimeDirectory;
  if (!existsSync(dir)) {
    log.debug(`${dir} does not exist; not writing hook.conf (the hook reads ${source} itself)`);
    return;
  }
  const path = join(dir, 'hook.conf');
  try {
    writeFileSync(`${path}.tmp`, renderHookConfig(c, source));
    chmodSync(`${path}.tmp`, 0o644); // the unit's UMask=0077 would make it 0600; it holds no secret
    renameSync(`${path}.tmp`, path);
  } catch (e) {
    log.warn(`could not write ${path}: ${(e as Error).message}, ignoring`);
  }
}
