// diycloud-web's own config, /etc/diycloud/web.conf (docs/configuration.md "web.conf"): one [Web]
// section in the daemon's INI dialect; unknown keys are errors.

import { z } from 'zod';
import { DiycloudError } from './errors';
import { parseIni } from './ini';

export interface WebConfig {
  /** The unix socket nginx connects to. */
  readonly socketPath: string;
  /** The origin browsers use ("https://cloud.example.org"); null: https:// and the request's Host. */
  readonly publicOrigin: string | null;
  readonly bodyLimitBytes: number;
  readonly liveIntervalSec: number;
  readonly staticDir: string;
  /** Take the client address from X-Real-IP (set by nginx). */
  readonly trustProxy: boolean;
  /** The system bus; null: DBUS_SYSTEM_BUS_ADDRESS or the standard socket. */
  readonly busAddress: string | null;
}

const abs = z.string().startsWith('/', 'must be an absolute path');
const int = (min: number, max: number) =>
  z.string().regex(/^[0-9]+$/, 'expected a whole number').transform(Number).refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);
const bool = z.enum(['yes', 'no', 'true', 'false', '1', '0']).transform((v) => ['yes', 'true', '1'].includes(v));

const schema = z
  .object({
    Web: z
      .object({
        Socket: abs.default('/run/diycloud/web/web.sock'),
        PublicOrigin: z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, 'expected scheme://host[:port] with no path').optional(),
        BodyLimitBytes: int(256, 1048576).default('16384'),
        LiveIntervalSec: int(1, 300).default('5'),
        StaticDir: abs.default('/usr/share/diycloud/web'),
        TrustProxy: bool.default('yes'),
        BusAddress: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export const DEFAULT_WEB_CONFIG_PATH = '/etc/diycloud/web.conf';

/** Validates web.conf text (empty text gives every default). */
export function parseWebConfig(text: string, source = 'web.conf'): WebConfig {
  const r = schema.safeParse(parseIni(text, source));
  if (!r.success) {
    const msgs = r.error.issues.map((i) =>
      i.code === z.ZodIssueCode.unrecognized_keys ? `unknown ${i.path.length ? 'key' : 'section'} ${i.keys.join(', ')}` : `[${i.path[0]}] ${i.path.slice(1).join('.')}: ${i.message}`,
    );
    throw new DiycloudError('InvalidArgument', `${source}: ${msgs.join('; ')}`);
  }
  const w = r.data.Web;
  return {
    socketPath: w.Socket,
    publicOrigin: w.PublicOrigin ?? null,
    bodyLimitBytes: w.BodyLimitBytes,
    liveIntervalSec: w.LiveIntervalSec,
    staticDir: w.StaticDir.replace(/\/+$/, '') || '/',
    trustProxy: w.TrustProxy,
    busAddress: w.BusAddress ?? null,
  };
}
