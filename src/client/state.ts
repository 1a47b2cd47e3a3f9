import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CaError } from '../domain/errors.ts';

/** What `pki enroll` remembers so that `pki renew` needs nothing but the directory. */
export const enrollmentStateSchema = z.object({
  version: z.literal(1),
  server: z.string().url(),
  /** Root certificate trusted for the ACME server and for verifying issued chains (file in DIR). */
  rootFile: z.string(),
  accountKeyFile: z.string(),
  accountUrl: z.string().url().optional(),
  identifiers: z.array(z.object({ type: z.enum(['dns', 'ip', 'uri']), value: z.string() })).min(1),
  challenge: z.enum(['http-01', 'tls-alpn-01', 'dns-01', 'tkauth-01']),
  /** tkauth-01: the workload identity token file, read again at each renewal (projected tokens rotate). */
  tokenFile: z.string().optional(),
  httpPort: z.number().int().optional(),
  tlsPort: z.number().int().optional(),
  webroot: z.string().optional(),
  dnsHook: z.string().optional(),
  keyAlg: z.enum(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']),
  profile: z.string().optional(),
  /** The CA's transparency log (#17): the pinned note verifier key and the last checkpoint this client verified. */
  log: z.object({ vkey: z.string(), checkpoint: z.string() }).optional(),
  /**
   * The last server answers about the current certificate (#19), reused by a not-due renew while
   * fresh so a timer run makes no request: the ARI window until its Retry-After (RFC 9773 §4.3),
   * a "good" revocation verdict until min(nextUpdate, checkedAt + 1 h). Never a revoked verdict.
   */
  cache: z
    .object({
      serial: z.string(),
      ari: z.object({ start: z.string().datetime(), end: z.string().datetime(), until: z.string().datetime() }).optional(),
      revocation: z.object({ verdict: z.literal('good'), checkedAt: z.string().datetime(), until: z.string().datetime() }).optional(),
    })
    .optional(),
});
export type EnrollmentState = z.infer<typeof enrollmentStateSchema>;

const STATE_FILE = 'state.json';

export async function readState(dir: string): Promise<EnrollmentState> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch {
    throw new CaError('config', `${dir} holds no enrollment (no ${STATE_FILE}): run pki enroll --out ${dir} first`);
  }
  const parsed = enrollmentStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new CaError('config', `${join(dir, STATE_FILE)} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export async function writeState(dir: string, state: EnrollmentState): Promise<void> {
  const tmp = join(dir, `.${STATE_FILE}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(state, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, STATE_FILE));
}
