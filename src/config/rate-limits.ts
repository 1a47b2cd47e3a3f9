import { z } from 'zod';

/** A token bucket: up to `burst` requests at once, refilled at `perSecond`; `false` turns that limit off. */
const bucket = z.union([z.object({ burst: z.number().int().min(1), perSecond: z.number().positive() }), z.literal(false)]);
export type BucketConfig = z.infer<typeof bucket>;

/**
 * The `rateLimits` section of pki.json (STANDARDS "Abuse"). Defaults are generous for an internal
 * CA (a fleet sharing one account, machines behind one NAT address) and still stop a runaway
 * client. OCSP is not rate-limited: relying parties must always get an answer; its request
 * body is capped instead (src/http/ocsp/handler.ts).
 */
export const rateLimitsSchema = z.object({
  /** newOrder per ACME account. */
  newOrderPerAccount: bucket.default({ burst: 300, perSecond: 20 }),
  /** finalize per ACME account (each one costs a signature). */
  finalizePerAccount: bucket.default({ burst: 300, perSecond: 20 }),
  /** newAccount per client IP address. */
  newAccountPerIp: bucket.default({ burst: 50, perSecond: 1 }),
  /** newNonce per client IP address (clients mostly reuse the Replay-Nonce of every response). */
  newNoncePerIp: bucket.default({ burst: 1000, perSecond: 100 }),
});

export type RateLimitsConfig = z.infer<typeof rateLimitsSchema>;
