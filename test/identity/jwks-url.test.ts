import { afterAll, describe, expect, it } from 'vitest';
import { identityFixture, jwks, k8sClaims, sign, signingKey } from './support.ts';
import { startJwksServer } from './jwks-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Long enough for the steps between a fetch and the cache's end on a loaded box (each refusal is an fsynced audit row).
const CACHE_MS = 4000;
const COOLDOWN_MS = 400;

/**
 * Keys from an HTTPS JWKS URL (a cluster's /openid/v1/jwks): fetched once and cached, rotation
 * picked up through an unknown kid, cached keys kept while the endpoint is down until their cache
 * age ends, and an unknown kid or a failed fetch never makes pki fetch in a loop.
 */
describe('workload tokens with keys from an HTTPS JWKS URL', async () => {
  const k1 = await signingKey('RS256', 'k1');
  const k2 = await signingKey('ES256', 'k2');
  const k3 = await signingKey('ES256', 'k3');
  const server = await startJwksServer(jwks(k1));
  afterAll(() => server.close());

  it('ok/cached, rotated, down (cached keys work, unknown refused without a fetch loop), expired cache, back up', async () => {
    const f = identityFixture({ jwksUrl: server.url, jwksCa: server.caPem, deps: { jwks: { cacheMaxAgeMs: CACHE_MS, cooldownMs: COOLDOWN_MS } } });
    const ok = async (k = k1) => expect((await f.tokens.verify(await sign(k, k8sClaims()))).subject).toBe('system:serviceaccount:payments:api');
    const no = async (k: typeof k1, reason: RegExp) => expect(f.tokens.verify(await sign(k, k8sClaims()))).rejects.toMatchObject({ detail: expect.stringMatching(reason) });

    await ok();
    await ok();
    expect(server.requests).toBe(1);

    // Rotation: the issuer adds k2; a token under the new kid makes pki refetch (after the cooldown).
    server.jwks = jwks(k1, k2);
    await sleep(COOLDOWN_MS + 50);
    await ok(k2);
    expect(server.requests).toBe(2);

    // The endpoint goes down: cached keys keep working; an unknown kid is refused after one attempt.
    server.down = 'status';
    await sleep(COOLDOWN_MS + 50);
    await ok(k1);
    await no(k3, /could not be fetched.*HTTP 503/);
    const attempts = server.requests;
    for (let i = 0; i < 10; i++) await no(k3, /could not be fetched|no key/);
    await ok(k2);
    expect(server.requests, 'refetched in a loop').toBe(attempts);

    // Once the cache age has passed, the keys fetched before no longer count.
    await sleep(CACHE_MS);
    await expect(f.tokens.verify(await sign(k1, k8sClaims()))).rejects.toMatchObject({ kind: 'unavailable', detail: expect.stringMatching(/could not be fetched/) });
    expect(server.requests - attempts).toBeLessThanOrEqual(1);

    server.down = null;
    await sleep(COOLDOWN_MS + 50);
    await ok(k1);
    expect(f.audit('identity.token.refused')).toHaveLength(12);
  });

  it('bad/a reset connection is refused like a 503, and a server not signed by --jwks-ca is not trusted', async () => {
    const f = identityFixture({ jwksUrl: server.url, jwksCa: server.caPem, deps: { jwks: { cacheMaxAgeMs: CACHE_MS, cooldownMs: COOLDOWN_MS } } });
    server.down = 'reset';
    await expect(f.tokens.verify(await sign(k1, k8sClaims()))).rejects.toMatchObject({ kind: 'unavailable', detail: expect.stringMatching(/could not be fetched/) });
    server.down = null;
    const g = identityFixture({ jwksUrl: server.url });
    await expect(g.tokens.verify(await sign(k1, k8sClaims()))).rejects.toMatchObject({ detail: expect.stringMatching(/could not be fetched.*certificate/i) });
  });
});
