import { z } from 'zod';
import { duration } from './duration.ts';

const port = z.number().int().min(0).max(65535);
const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT');

/** The `acme` section of pki.json (config.ts); every field has a default, so older configs keep working. */
export const acmeConfigSchema = z.object({
  enabled: z.boolean().default(true),
  /** HTTPS port of the ACME server (the plain-HTTP port stays for OCSP/CRL/CA certificates). */
  port: port.default(9443),
  /** Names in the ACME server's own TLS certificate; the first is used in the directory URL unless `host` is an address. */
  hostnames: z.array(z.string().min(1)).min(1).default(['localhost', '127.0.0.1']),
  /** External account binding required for newAccount (RFC 8555 §7.3.4). */
  requireEab: z.boolean().default(true),
  orderLifetime: duration().default('1h'),
  authzLifetime: duration().default('1h'),
  nonceLifetime: duration().default('1h'),
  /** Where validation connects (RFC 8555 §8.3, RFC 8737 §3); override for tests and local use. */
  http01Port: port.default(80),
  tlsAlpn01Port: port.default(443),
  /** HOST:PORT of the DNS server for A/AAAA/TXT lookups; absent = the system resolver. */
  dnsServer: hostPort.optional(),
  validationTimeout: duration().default('10s'),
  /**
   * How long the challenge POST waits for its validation before answering (RFC 8555 §7.5.1 allows
   * either): a validation that finishes in time is answered with its outcome, saving the client
   * its polls; a slower one is answered `processing` with Retry-After as before. 0s = never wait.
   */
  challengeWait: duration({ orZero: true }).default('2s'),
  website: z.string().url().optional(),
  /**
   * The origin clients reach the ACME server at when it is not this process's own address: a load
   * balancer in front of replicas (#22), e.g. https://ca.corp.internal. URLs in the directory,
   * Location headers and links use it. Absent: https://HOST:PORT of this listener.
   */
  externalUrl: z
    .string()
    .url()
    .refine((u) => /^https:\/\/[^/]+\/?$/.test(u), 'must be an https://HOST[:PORT] origin without a path')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
});

export type AcmeConfig = z.infer<typeof acmeConfigSchema>;

export const defaultAcmeConfig = (): AcmeConfig => acmeConfigSchema.parse({});
