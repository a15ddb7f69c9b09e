// A headless Chromium on the host that lives in an e2e container's network namespace, driven by playwright-core.
// The containers run with --private-network, so the browser is started through a small wrapper script that does
// `nsenter -n -t <container PID 1> -- /usr/bin/chromium "$@"`: https://localhost in the browser is the container's
// nginx. playwright-core talks to it over --remote-debugging-pipe (fds 3 and 4, which nsenter passes on).
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = process.env.DIYCLOUD_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** null when a browser can be driven here, else why not. */
export function browserUnavailableReason(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (apt-get install chromium)`;
  try { require.resolve('playwright-core'); } catch { return 'playwright-core is not installed (npm ci)'; }
  return null;
}

/** The flags that keep Chromium quiet and offline here (docs/testing.md, "Portal"); playwright adds a fresh --user-data-dir. */
export function chromiumArgs(): string[] {
  return ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
}

export interface NetnsBrowser {
  browser: Browser;
  /** a fresh context (own cookies) that accepts the container's self-signed certificate */
  newContext(viewport?: { width: number; height: number }): Promise<BrowserContext>;
  /** a page in a fresh context; `errors` collects page errors and dialogs (an XSS payload that fired shows up here) */
  newPage(viewport?: { width: number; height: number }): Promise<{ page: Page; errors: string[]; context: BrowserContext }>;
  close(): Promise<void>;
}

/** Launches Chromium inside the network namespace of the process `netnsPid` (the container's PID 1). */
export async function launchInNetns(netnsPid: number): Promise<NetnsBrowser> {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'diycloud-browser-'));
  const wrapper = join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -n -t ${netnsPid} -- ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  let browser: Browser;
  try {
    // launch() refuses --user-data-dir in args: it gives the browser a new empty profile directory of its own
    browser = await chromium.launch({ executablePath: wrapper, headless: true, args: chromiumArgs(), timeout: 60_000 });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const newContext = (viewport = { width: 1280, height: 800 }) =>
    browser.newContext({ ignoreHTTPSErrors: true, viewport, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'UTC' });
  return {
    browser,
    newContext,
    async newPage(viewport) {
      const context = await newContext(viewport);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('dialog', (d) => { errors.push(`dialog ${d.type()}: ${d.message()}`); void d.dismiss(); });
      return { page, errors, context };
    },
    async close() {
      try { await browser.close(); } finally { rmSync(dir, { recursive: true, force: true }); }
    },
  };
}
