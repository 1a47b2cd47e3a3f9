import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CaError } from '../domain/errors.ts';
import { KEY_ALGS } from '../domain/algorithms.ts';
import { acmeConfigSchema } from './acme.ts';
import { duration } from './duration.ts';
import { httpConfigSchema } from './http.ts';
import { rateLimitsSchema } from './rate-limits.ts';
import { estConfigSchema, renewalConfigSchema } from './renewal.ts';
import { crlConfigSchema, ocspConfigSchema } from './status.ts';

export const CONFIG_FILE = 'pki.json';

const httpUrl = z.string().url().refine((u) => u.startsWith('http://'), 'must be a plain http:// URL (relying parties fetch OCSP and CRLs without TLS)');

/** The instance configuration file (DIR/pki.json). Paths are relative to the instance directory. */
export const configSchema = z.object({
  version: z.literal(1),
  name: z.string().min(1),
  baseUrl: httpUrl,
  /** A SQLite file (relative to the instance directory), or PostgreSQL for replicas: a postgres:// URL or { "url": … }. */
  database: z
    .union([z.string().min(1), z.object({ url: z.string().regex(/^postgres(ql)?:\/\//i, 'must be a postgres:// URL') }).transform((d) => d.url)])
    .default('pki.db'),
  keyStore: z
    .object({
      type: z.string().default('file'),
      /** file store: key directory; other stores read their own settings from here. */
      dir: z.string().optional(),
      passphraseFile: z.string().optional(),
    })
    .passthrough(),
  root: z.object({
    certificate: z.string(),
    /** The root key as an encrypted file (the default: it goes offline)… */
    keyFile: z.string().optional(),
    /** …or a key in the instance's key store (e.g. on the PKCS#11 token), by label. */
    keyLabel: z.string().optional(),
    keyAlg: z.enum(KEY_ALGS),
  }),
  intermediate: z.object({ certificate: z.string(), keyLabel: z.string(), keyAlg: z.enum(KEY_ALGS) }),
  issuance: z
    .object({
      defaultProfile: z.string().default('default'),
      lifetime: duration().default('24h'),
      maxLifetime: duration().default('90d'),
      /** How old a `pending` serial must be before `pki serve` declares it abandoned: longer than any signing takes. */
      pendingGrace: duration().default('60s'),
    })
    .prefault({}),
  crl: crlConfigSchema.prefault({}),
  /** OCSP responder settings (src/config/status.ts). */
  ocsp: ocspConfigSchema.prefault({}),
  /** Plain-HTTP listener and every listener's time limits: src/config/http.ts. */
  http: httpConfigSchema.prefault({}),
  /** ACME server (HTTPS, own port): fields and defaults in src/config/acme.ts. */
  acme: acmeConfigSchema.prefault({}),
  /** Token buckets on ACME newOrder/finalize (per account) and newAccount/newNonce (per IP): src/config/rate-limits.ts. */
  rateLimits: rateLimitsSchema.prefault({}),
  /** Renewal by the current certificate (EST simplereenroll): src/config/renewal.ts. */
  renewal: renewalConfigSchema.prefault({}),
  /** EST for devices (RFC 7030) on the ACME listener: src/config/renewal.ts. */
  est: estConfigSchema.prefault({}),
  /** Transparency log (#17): the checkpoint key's label in the key store and the checkpoint origin (default: the base URL's host/port + "/log"). */
  log: z.object({ keyLabel: z.string().default('log'), origin: z.string().regex(/^[^\s+]+$/, "no spaces or '+'").optional() }).prefault({}),
});

export type Config = z.infer<typeof configSchema>;

/** Reads and validates DIR/pki.json; every problem names the field. */
export async function loadConfig(dir: string): Promise<Config> {
  const path = join(resolve(dir), CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CaError('config', `${dir} is not a pki instance (no ${CONFIG_FILE}); create one with: pki init --dir ${dir}`);
    throw new CaError('config', `cannot read ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CaError('config', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CaError('config', `invalid ${path}: ${issues}`);
  }
  return parsed.data;
}
