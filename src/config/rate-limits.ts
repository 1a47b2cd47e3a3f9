import { z } from 'zod';

/** A token bucket: up to `burst` requests at once, refilled at `perSecond`; `false` turns that limit off. */
const bucket = z.union([z.object({ burst: z.number().int().min(1), perSecond: z.number().positive() }), z.literal(false)]);
export type BucketConfig = z.infer<typeof bucket>;

/**
 * The `rateLimits` section of pki.json (STANDARDS "Abuse"). A well-behaved client never meets
 * them (#21): one `pki serve` process completes at most ~300 orders/s, and npm acme-client sends
 * a HEAD newNonce before each of its 6 signed requests per order, so a client (or a fleet behind
 * one NAT address) that uses the nonces it asks for sends at most ~1,800 newNonce/s; the sustained
 * rates below are above that without counting the burst. What they stop is a runaway or hostile
 * client: a newNonce or newAccount flood from one address, an account in a tight loop. Numbers and
 * reasoning: docs/operations.md "Rate limits". OCSP is not rate-limited: relying parties must
 * always get an answer; its request body is capped instead (src/http/ocsp/handler.ts).
 */
export const rateLimitsSchema = z.object({
  /** newOrder per ACME account. */
  newOrderPerAccount: bucket.default({ burst: 1000, perSecond: 500 }),
  /** finalize per ACME account (each one costs a signature). */
  finalizePerAccount: bucket.default({ burst: 1000, perSecond: 500 }),
  /** newAccount per client IP address (lego registers on every first run: a fleet behind one NAT). */
  newAccountPerIp: bucket.default({ burst: 500, perSecond: 50 }),
  /** newNonce per client IP address (acme-client asks before every signed request). */
  newNoncePerIp: bucket.default({ burst: 10_000, perSecond: 5_000 }),
});

export type RateLimitsConfig = z.infer<typeof rateLimitsSchema>;
