import { it } from 'vitest';
import { existsSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { bootContainer, buildRuntimeModules, installDiycloud, type Dist } from './lib/container';
const dist = (process.env.EXPLORE_DIST ?? 'bookworm') as Dist;
it('explore', async () => {
  const c = await bootContainer({ dist });
  await c.waitRunning();
  const modules = await buildRuntimeModules(c.root, join(mkdtempSync(join(tmpdir(), 'explore-')), 'm'));
  writeFileSync(`/tmp/explore/${dist}.modules`, modules);
  await installDiycloud(c, modules);
  writeFileSync(`/tmp/explore/${dist}.pid`, String(c.pid));
  writeFileSync(`/tmp/explore/${dist}.root`, c.root);
  while (!existsSync(`/tmp/explore/${dist}.stop`)) await new Promise((r) => setTimeout(r, 500));
  await c.stop();
}, 3_600_000);
