import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { rateLimitsSchema } from '../../src/config/rate-limits.ts';
import { TokenBuckets } from '../../src/http/acme-https/token-buckets.ts';
import { createTestCa } from '../helpers/ca.ts';
import { LeanAcmeClient, problemType, type RawResponse } from '../../scripts/bench/lean-client.ts';
import { parsePrometheus, sumOf } from './support/prom.ts';

describe('TokenBuckets', () => {
  it('ok/a burst, then one token per 1/perSecond, each key on its own', () => {
    const b = new TokenBuckets({ burst: 3, perSecond: 2 });
    expect([0, 1, 2, 3].map(() => b.take('a', 1000))).toEqual([0, 0, 0, 1]);
    expect(b.take('b', 1000)).toBe(0);
    expect(b.take('a', 1499)).toBe(1); // 0.998 tokens: not yet
    expect(b.take('a', 1500)).toBe(0); // one token after 500 ms
    expect(b.take('a', 10_000)).toBe(0); // refill is capped at the burst…
    expect(b.take('a', 10_000)).toBe(0);
    expect(b.take('a', 10_000)).toBe(0);
    expect(b.take('a', 10_000)).toBe(1); // …so a long pause buys no more than `burst`
  });

  it('ok/Retry-After is honest: a token is there once it has passed, and not a whole second earlier', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const perSecond = [0.05, 0.3, 1, 2.5, 100][i % 5]!;
      const b = new TokenBuckets({ burst: 1 + (i % 3), perSecond });
      let now = 1_000_000;
      let wait = 0;
      while ((wait = b.take('k', now)) === 0) now += Math.floor(rnd() * 5);
      expect(wait).toBeGreaterThanOrEqual(1);
      // Asked again one second short of it (when it says 2 s or more): still none.
      if (wait > 1) expect(b.take('k', now + (wait - 1) * 1000)).toBeGreaterThan(0);
      expect(b.take('k', now + wait * 1000)).toBe(0);
    }
  });

  it('ok/memory stays bounded: full buckets are dropped, and the oldest when everyone is mid-burst', () => {
    const b = new TokenBuckets({ burst: 2, perSecond: 1, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) b.take(`k${i}`, 0);
    expect(b.size).toBeLessThanOrEqual(100);
  });

  it('ok/config: defaults on, a limit can be turned off with false, nonsense is refused', () => {
    const d = rateLimitsSchema.parse({});
    expect(d.newOrderPerAccount).toEqual({ burst: 1000, perSecond: 500 });
    expect(rateLimitsSchema.parse({ newNoncePerIp: false }).newNoncePerIp).toBe(false);
    expect(rateLimitsSchema.safeParse({ finalizePerAccount: { burst: 0, perSecond: 1 } }).success).toBe(false);
  });
});

/** The limits on the real ACME listener, set tiny so a test can cross them. */
describe('ACME rate limits', () => {
  let ca: CaInstance;
  let server: RunningServer;
  let rootPem: string;

  beforeAll(async () => {
    ca = await createTestCa();
    rootPem = ca.root.toString('pem') + '\n';
    ca.config.rateLimits = {
      newOrderPerAccount: { burst: 3, perSecond: 0.1 },
      finalizePerAccount: { burst: 2, perSecond: 0.1 },
      newAccountPerIp: { burst: 3, perSecond: 0.1 },
      newNoncePerIp: { burst: 4, perSecond: 2 },
    };
    server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: { requireEab: false } });
  });
  afterAll(async () => {
    await server?.close();
    await ca?.close();
  });

  const client = async () => {
    const c = new LeanAcmeClient(rootPem);
    await c.directory(server.acme!.directoryUrl);
    return c;
  };
  const expectLimited = (r: RawResponse) => {
    expect(r.status, r.body).toBe(429);
    expect(problemType(r)).toBe('rateLimited');
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(r.headers['content-type']).toBe('application/problem+json');
  };

  it('fail/newOrder past the per-account burst is rateLimited with Retry-After; another account is unaffected', async () => {
    const a = await client();
    const b = await client();
    expect((await a.newAccount()).status).toBe(201);
    expect((await b.newAccount()).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await a.newOrder(`a${i}.limits.test`)).status).toBe(201);
    expectLimited(await a.newOrder('a3.limits.test'));
    expect((await b.newOrder('b0.limits.test')).status).toBe(201);

    // finalize has its own bucket: requests under it reach the handler (orderNotReady), the next is limited.
    const order = JSON.parse((await b.newOrder('b1.limits.test')).body) as { finalize: string };
    for (let i = 0; i < 2; i++) expect(problemType(await b.post(order.finalize, { csr: 'AA' }))).toBe('orderNotReady');
    expectLimited(await b.post(order.finalize, { csr: 'AA' }));
    a.close();
    b.close();
  });

  it('fail/newAccount past the per-IP burst is rateLimited', async () => {
    // Two accounts were created above from 127.0.0.1; the bucket holds three.
    const c = await client();
    expect((await c.newAccount()).status).toBe(201);
    const d = await client();
    expectLimited(await d.newAccount());
    c.close();
    d.close();
  });

  it('fail/newNonce past the per-IP burst is rateLimited, and allowed again after Retry-After', async () => {
    const c = await client();
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push((await c.newNonce()).status);
    expect(seen.slice(0, 4)).toEqual([200, 200, 200, 200]);
    const limited = await c.newNonce();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, Number(limited.headers['retry-after']) * 1000 + 50));
    expect((await c.newNonce()).status).toBe(200);
    c.close();

    const m = parsePrometheus(await (await fetch(`${server.httpUrl}/metrics`)).text());
    expect(sumOf(m.samples, 'pki_acme_rate_limited_total', { limit: 'newOrder per account' })).toBe(1);
    expect(sumOf(m.samples, 'pki_acme_rate_limited_total', { limit: 'newAccount per IP' })).toBe(1);
    expect(sumOf(m.samples, 'pki_acme_rate_limited_total', { limit: 'newNonce per IP' })).toBeGreaterThanOrEqual(2);
    expect(sumOf(m.samples, 'pki_acme_requests_total', { resource: 'newOrder', problem: 'rateLimited' })).toBe(1);
  });
});
