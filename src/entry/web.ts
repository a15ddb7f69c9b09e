#!/usr/bin/env node
// diycloud-web: the composition root of the HTTP service. Reads web.conf, connects to diycloudd's
// org.diycloud.Web1 on the system bus, and serves the portal on a unix socket for nginx.

import { chmodSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { Command } from 'commander';
import { createAdaptorServer } from '@hono/node-server';
import { DEFAULT_WEB_CONFIG_PATH, parseWebConfig } from '../core/web-config';
import { createWebApp } from '../adapters/http/app';
import { DEFAULT_SYSTEM_BUS } from '../adapters/dbus/manager-client';
import { Web1Client } from '../adapters/dbus/web-client';

const version = require('../../package.json').version as string;
const program = new Command()
  .name('diycloud-web')
  .description('The diycloud portal: HTTP API and front end on a unix socket, backed by diycloudd (org.diycloud.Web1)')
  .option('--config <path>', 'configuration file', DEFAULT_WEB_CONFIG_PATH)
  .version(version);
program.exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));
program.parse();

async function main(): Promise<void> {
  const path = program.opts<{ config: string }>().config;
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    // A missing file means every default; any other read error is fatal.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const config = parseWebConfig(text, path);
  const web = await Web1Client.connect(config.busAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS);
  const { app, live } = createWebApp({ web, config, version, logError: (m) => console.error(m) });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  // A socket left by an earlier run (only a socket: never remove anything else).
  try {
    if (lstatSync(config.socketPath).isSocket()) unlinkSync(config.socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const oldMask = process.umask(0o117);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.socketPath, () => resolve());
  });
  process.umask(oldMask);
  // 0660: nginx connects through the socket's group (RuntimeDirectory's group, docs/http-api.md).
  chmodSync(config.socketPath, 0o660);
  console.error(`diycloud-web ${version} listening on ${config.socketPath}`);
  const stop = (): void => {
    live.stop();
    server.close();
    web.close();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: Error) => {
  console.error(`diycloud-web: ${e.message}`);
  process.exit(e.name === 'DiycloudError' ? 2 : 1);
});
