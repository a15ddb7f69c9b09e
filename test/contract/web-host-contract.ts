// The NginxServer and TlsStore port contracts: the real adapters (nginx -t -p on a temp tree, openssl) and the in-memory fakes must both pass them.

import type { NginxServer, TlsStore } from '../../src/core/web-portal';

export interface NginxContext {
  /** An nginx whose configuration includes the link's place, the site's link absent. */
  readonly nginx: NginxServer;
  /** The user directive its nginx.conf holds. */
  readonly expectedUser: string | null;
  /** Puts an admin's plain file where the link goes. */
  placeForeignFile(): Promise<void>;
  /** Makes the site (the link's target) invalid for nginx -t. */
  breakSite(): Promise<void>;
}

export interface TlsContext {
  /** A store with neither file. */
  readonly tls: TlsStore;
  /** A certificate and its key that install accepts. */
  readonly pair: { readonly certPath: string; readonly keyPath: string };
  /** A key that is not the pair's. */
  readonly otherKeyPath: string;
  readonly now: Date;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`contract violated: ${what}`);
}

async function rejectsWith(p: Promise<unknown>, code: string, what: string): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x as { code?: string; message?: string });
  check(e !== null && e.code === code, `${what}: expected ${code}, got ${e === null ? 'success' : `${e.code}: ${e.message}`}`);
}

export const NGINX_CONTRACT: { name: string; run: (ctx: NginxContext) => Promise<void> }[] = [
  {
    name: 'is installed and reads the user directive',
    run: async (ctx) => {
      check(await ctx.nginx.installed(), 'installed');
      check((await ctx.nginx.userDirective()) === ctx.expectedUser, 'user directive');
    },
  },
  {
    name: 'link and unlink are exact: absent, ours, absent; a second link or unlink is a Conflict',
    run: async (ctx) => {
      check((await ctx.nginx.linkState()).kind === 'absent', 'absent at first');
      await ctx.nginx.link();
      check((await ctx.nginx.linkState()).kind === 'ours', 'ours after link');
      await rejectsWith(ctx.nginx.link(), 'Conflict', 'second link');
      await ctx.nginx.unlink();
      check((await ctx.nginx.linkState()).kind === 'absent', 'absent after unlink');
      await rejectsWith(ctx.nginx.unlink(), 'Conflict', 'second unlink');
    },
  },
  {
    name: 'nginx -t passes with the site linked, and fails with nginx\'s words once the site is broken',
    run: async (ctx) => {
      await ctx.nginx.link();
      const ok = await ctx.nginx.test();
      check(ok.ok, `nginx -t: ${ok.message}`);
      await ctx.breakSite();
      const bad = await ctx.nginx.test();
      check(!bad.ok && bad.message.length > 0, `nginx -t on a broken site: ${JSON.stringify(bad)}`);
      await ctx.nginx.unlink();
    },
  },
  {
    name: 'a file an admin put at the link is foreign, and unlink leaves it',
    run: async (ctx) => {
      await ctx.placeForeignFile();
      const s = await ctx.nginx.linkState();
      check(s.kind === 'foreign' && s.what === 'a file', `state ${JSON.stringify(s)}`);
      await rejectsWith(ctx.nginx.unlink(), 'Conflict', 'unlink of a foreign file');
      await rejectsWith(ctx.nginx.link(), 'Conflict', 'link over a foreign file');
      check((await ctx.nginx.linkState()).kind === 'foreign', 'still foreign');
    },
  },
];

const DAY_MS = 86_400_000;

export const TLS_CONTRACT: { name: string; run: (ctx: TlsContext) => Promise<void> }[] = [
  {
    name: 'generate makes both files, with the expiry asked for, and never runs over them',
    run: async (ctx) => {
      check(await ctx.tls.available(), 'available');
      const p = await ctx.tls.present();
      check(!p.cert && !p.key && (await ctx.tls.expiry()) === null, 'nothing at first');
      await ctx.tls.generate('portal.example.org', 825);
      const q = await ctx.tls.present();
      check(q.cert && q.key, 'both after generate');
      const exp = await ctx.tls.expiry();
      check(exp !== null && Math.abs(Date.parse(exp) - (ctx.now.getTime() + 825 * DAY_MS)) < 2 * DAY_MS, `expiry ${exp}`);
      await rejectsWith(ctx.tls.generate('other.example.org', 30), 'Conflict', 'second generate');
      await rejectsWith(ctx.tls.install(ctx.pair.certPath, ctx.pair.keyPath), 'Conflict', 'install over a pair');
      check((await ctx.tls.expiry()) === exp, 'the first certificate stays');
    },
  },
  {
    name: 'install refuses a key that is not the certificate\'s and takes a matching pair',
    run: async (ctx) => {
      await rejectsWith(ctx.tls.install(ctx.pair.certPath, ctx.otherKeyPath), 'InvalidArgument', 'mismatched key');
      const p = await ctx.tls.present();
      check(!p.cert && !p.key, 'nothing after a refused install');
      await ctx.tls.install(ctx.pair.certPath, ctx.pair.keyPath);
      const q = await ctx.tls.present();
      check(q.cert && q.key && (await ctx.tls.expiry()) !== null, 'both after install');
    },
  },
];
