// The in-memory MemoryNginx and MemoryTls fakes pass the NginxServer and TlsStore contracts (as the real adapters do with nginx and openssl).

import { describe, it } from 'vitest';
import { MemoryNginx, MemoryTls } from '../../fakes/memory-web-host';
import { NGINX_CONTRACT, TLS_CONTRACT } from '../../contract/web-host-contract';

describe('MemoryNginx honours the NginxServer contract', () => {
  it.each(NGINX_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const nginx = new MemoryNginx();
    await c.run({
      nginx,
      expectedUser: 'www-data',
      placeForeignFile: async () => { nginx.state = { kind: 'foreign', what: 'a file' }; },
      breakSite: async () => { nginx.brokenWhenLinked = 'nginx: [emerg] unknown directive "bogus"'; },
    });
  });
});

describe('MemoryTls honours the TlsStore contract', () => {
  it.each(TLS_CONTRACT.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const now = new Date('2026-01-01T00:00:00Z');
    const tls = new MemoryTls([], true, () => now);
    tls.goodPairs.set('/root/c.pem', '/root/k.pem');
    await c.run({ tls, pair: { certPath: '/root/c.pem', keyPath: '/root/k.pem' }, otherKeyPath: '/root/other.pem', now });
  });
});
