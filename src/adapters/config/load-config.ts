// Reads diycloud.conf and /etc/login.defs from disk; a missing config file means the documented defaults.

import { readFileSync } from 'node:fs';
import { parseConfig, type Config } from '../../core/config';
import { parseLoginDefs } from '../../core/ini';

export const DEFAULT_CONFIG_PATH = '/etc/diycloud/diycloud.conf';

export function loadConfig(path = DEFAULT_CONFIG_PATH, loginDefsPath = '/etc/login.defs'): Config {
  return parseConfig(readIfExists(path) ?? '', parseLoginDefs(readIfExists(loginDefsPath) ?? ''), path);
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
