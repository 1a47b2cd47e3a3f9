import { z } from 'zod';
import { duration } from './duration.ts';

/**
 * The `renewal` section of pki.json: renewal by the current certificate (EST simplereenroll,
 * RFC 7030 §4.2.2), which needs no account, challenge or bootstrap credential.
 */
export const renewalConfigSchema = z.object({
  /**
   * How long a chain of renewals may run from its last fresh authorization (an ACME challenge, an
   * enrollment key, a token). Past it, a renewal is refused and the workload must enroll afresh:
   * a stolen key renewed in a loop is worth at most this long.
   */
  maxLineage: duration().default('30d'),
  /** Whether a renewal may keep the current key; off by default (a new key each time). */
  allowSameKey: z.boolean().default(false),
});

/** The `est` section of pki.json: EST for devices (RFC 7030) on the ACME TLS listener. */
export const estConfigSchema = z.object({
  enabled: z.boolean().default(true),
  /** Profile of certificates issued by simpleenroll (simplereenroll keeps the current certificate's). */
  profile: z.string().default('default'),
});

export type RenewalConfig = z.infer<typeof renewalConfigSchema>;
export type EstConfig = z.infer<typeof estConfigSchema>;
