import acme from 'acme-client';
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitsSchema } from '../../src/config/rate-limits.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';

/**
 * The default rate limits never throttle a well-behaved client (#21): npm acme-client with its
 * default settings (a HEAD newNonce before every signed request, 8 orders at a time on one
 * account, as `client.auto` is used to enroll a fleet) sees no 429 over a bounded run. The
 * server's own counter (pki_acme_rate_limited_total) is read, so a 429 that acme-client retried
 * away after sleeping on its Retry-After still counts.
 */
const ORDERS = 64;
const CONCURRENCY = 8;
const live = useAcmeServer();
let eject: number;
const sent: { method: string; url: string; at: number }[] = [];

beforeAll(() => {
  acme.axios.defaults.httpsAgent = new Agent({ ca: live.rootPem, keepAlive: true });
  // Every attempt, retries included, goes through the request interceptors.
  eject = acme.axios.interceptors.request.use((c) => {
    sent.push({ method: (c.method ?? 'get').toUpperCase(), url: c.url ?? '', at: performance.now() });
    return c;
  });
});
afterAll(() => acme.axios.interceptors.request.eject(eject));

async function rateLimitedTotal(): Promise<number> {
  const text = await live.ca.metrics.registry.metrics();
  return [...text.matchAll(/^pki_acme_rate_limited_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('default rate limits and a real client', () => {
  it('ok/the server runs with the schema defaults', () => {
    expect(live.ca.config.rateLimits).toEqual(rateLimitsSchema.parse({}));
  });

  it(`ok/acme-client, default settings, ${ORDERS} orders at concurrency ${CONCURRENCY} on one account: no 429`, async () => {
    const client = new acme.Client({ directoryUrl: live.server.acme!.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
    const before = await rateLimitedTotal();
    const key = await acme.crypto.createPrivateEcdsaKey();
    let next = 0;
    sent.length = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ORDERS) {
          const name = `rl${next++}.example.test`;
          const [, csr] = await acme.crypto.createCsr({ altNames: [name] }, key);
          await client.auto({
            csr,
            termsOfServiceAgreed: true,
            challengePriority: ['http-01'],
            skipChallengeVerification: true,
            challengeCreateFn: async (_authz, ch, keyAuthorization) => live.web.set(ch.token, keyAuthorization),
            challengeRemoveFn: async () => {},
          });
        }
      }),
    );
    expect(await rateLimitedTotal()).toBe(before);
    // The pattern the defaults in src/config/rate-limits.ts are sized on (docs/operations.md).
    const nonces = sent.filter((r) => r.method === 'HEAD' && r.url.includes('new-nonce'));
    expect(nonces.length / ORDERS).toBeGreaterThanOrEqual(5); // a newNonce before each signed request
    // Sized for the server's pace, not this test's: one pki serve process completes at most ~300
    // orders/s on this box (docs/benchmarks.md), so a client that uses every nonce it asks for
    // sends at most nonces-per-order × 300 newNonce/s, and one account at most 300 newOrder and
    // finalize/s. The sustained rates alone (no burst) must cover that.
    const limits = rateLimitsSchema.parse({});
    const ceiling = 300;
    const perSecond = (b: (typeof limits)[keyof typeof limits]) => (b === false ? Infinity : b.perSecond);
    expect((nonces.length / ORDERS) * ceiling).toBeLessThanOrEqual(perSecond(limits.newNoncePerIp));
    expect(ceiling).toBeLessThanOrEqual(perSecond(limits.newOrderPerAccount));
    expect(ceiling).toBeLessThanOrEqual(perSecond(limits.finalizePerAccount));
  }, 120_000);
});
