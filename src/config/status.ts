import { z } from 'zod';
import { duration } from './duration.ts';

/** ~1 KB of heap each (src/status/ocsp-cache.ts), so ~50 MB per process at most. */
export const DEFAULT_OCSP_CACHE_ENTRIES = 50_000;

/** The `ocsp` section of pki.json: the responder's timings (src/status/options.ts reads them). */
export const ocspConfigSchema = z.object({
  /** thisUpdate → nextUpdate of OCSP responses; pre-signed ones are re-signed at half of it. */
  validity: duration().default('12h'),
  /** Lifetime of the delegated responder certificate (short: it carries ocsp-nocheck). */
  responderLifetime: duration().default('4d'),
  maxCertsPerRequest: z.number().int().min(1).max(100).default(8),
  /** Pre-signed responses held in memory per process (least recently asked go first); the rest are read by serial. */
  cacheEntries: z.number().int().min(1).max(10_000_000).default(DEFAULT_OCSP_CACHE_ENTRIES),
});

/** The `crl` section of pki.json. */
export const crlConfigSchema = z.object({
  shards: z.number().int().min(1).max(1024).default(1),
  /** thisUpdate → nextUpdate of each CRL; rebuilt on schedule at half of it. */
  validity: duration().default('24h'),
  /** How long a revoked certificate stays listed (and keeps fresh OCSP answers) after it expires. */
  expiredGrace: duration().default('1d'),
});
