import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigningKeys } from '../../src/authority/token-signing.ts';
import { AccessTokenVerifier, type CaInstance } from '../../src/index.ts';
import { createTestCa } from '../helpers/ca.ts';

const ISS = 'https://ca.internal:9443';
const AUD = 'https://ledger.internal';
const cert = Buffer.from('stands for a client certificate DER');
const x5t = createHash('sha256').update(cert).digest('base64url');

describe('AccessTokenVerifier on its own (JWK Set given, no network)', () => {
  let ca: CaInstance;
  let keys: TokenSigningKeys;
  let verifier: AccessTokenVerifier;
  const now = Math.floor(Date.now() / 1000);
  const sign = (over: Record<string, unknown> = {}) =>
    keys.signAccessToken({ iss: ISS, aud: AUD, sub: 'a', client_id: 'a', scope: 'read write', acr: 'urn:pki:acr:fresh+profile:hsm', iat: now, exp: now + 300, jti: 'j', cnf: { 'x5t#S256': x5t }, ...over });

  beforeAll(async () => {
    ca = await createTestCa();
    keys = await TokenSigningKeys.open({ keyStore: ca.keyStore, store: ca.store, clock: ca.clock, overlapMs: 900_000 });
    verifier = new AccessTokenVerifier({ issuer: ISS, audience: AUD, jwks: keys.jwks() as never });
  });
  afterAll(async () => {
    await ca?.close();
  });

  it('ok/a good token over its certificate; acr parts are matched as a set (fresh ⊂ fresh+profile:hsm, mtls always)', async () => {
    const t = `Bearer ${await sign()}`;
    await expect(verifier.verify(t, cert, { scope: ['read'], acr: 'urn:pki:acr:fresh' })).resolves.toMatchObject({ sub: 'a' });
    await expect(verifier.verify(t, cert, { acr: 'urn:pki:acr:profile:hsm' })).resolves.toBeTruthy();
    await expect(verifier.verify(t, cert, { acr: 'urn:pki:acr:mtls' })).resolves.toBeTruthy();
    await expect(verifier.verify(t, cert, { acr: 'urn:pki:acr:profile:tpm' })).rejects.toMatchObject({ error: 'insufficient_user_authentication', status: 401 });
    // Cached: the second use of the same token gives the same claims.
    expect(await verifier.verify(t, cert)).toBe(await verifier.verify(t, cert));
  });

  it.each([
    ['no Authorization header', undefined, 401, null],
    ['not Bearer', 'Basic YTpi', 400, 'invalid_request'],
    ['Bearer with a space inside', 'Bearer a b', 400, 'invalid_request'],
  ])('fail/%s', async (_what, header, status, error) => {
    await expect(verifier.verify(header, cert)).rejects.toMatchObject({ status, error });
  });

  it('fail/no peer certificate, another certificate, no cnf, wrong issuer: invalid_token', async () => {
    const t = `Bearer ${await sign()}`;
    await expect(verifier.verify(t, null)).rejects.toMatchObject({ error: 'invalid_token' });
    await expect(verifier.verify(t, Buffer.from('another certificate'))).rejects.toMatchObject({ error: 'invalid_token', description: expect.stringMatching(/another certificate/) });
    await expect(verifier.verify(`Bearer ${await sign({ cnf: undefined })}`, cert)).rejects.toMatchObject({ error: 'invalid_token' });
    await expect(verifier.verify(`Bearer ${await sign({ iss: 'https://evil' })}`, cert)).rejects.toMatchObject({ error: 'invalid_token', description: expect.stringMatching(/iss/) });
    const expired = `Bearer ${await sign({ exp: now - 1 })}`;
    await expect(verifier.verify(expired, cert)).rejects.toMatchObject({ error: 'invalid_token', description: expect.stringMatching(/exp/) });
  });

  it('ok/a cached token is refused once it has expired', async () => {
    let at = Date.now();
    const v = new AccessTokenVerifier({ issuer: ISS, audience: AUD, jwks: keys.jwks() as never, now: () => at });
    const t = `Bearer ${await sign({ exp: Math.floor(at / 1000) + 2 })}`;
    await v.verify(t, cert);
    at += 3000;
    await expect(v.verify(t, cert)).rejects.toMatchObject({ error: 'invalid_token' });
  });
});

describe('AccessTokenVerifier with a remote JWKS: fetched once, fetched again for a new kid (rotation)', () => {
  it('ok/one fetch for many verifications; a token signed by a newly published key makes it fetch again', async () => {
    const { createServer } = await import('node:http');
    const { createTokenSigningKey, PUBLISH_AHEAD_MS } = await import('../../src/authority/token-signing.ts');
    const { fixedClock } = await import('../../src/domain/clock.ts');
    const ca = await createTestCa();
    const clock = fixedClock(new Date());
    const keys = await TokenSigningKeys.open({ keyStore: ca.keyStore, store: ca.store, clock, overlapMs: 900_000 });
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(keys.jwks()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
      const v = new AccessTokenVerifier({ issuer: ISS, audience: AUD, jwks: url, refetchCooldownMs: 0 });
      const claims = () => {
        const n = Math.floor(clock.now().getTime() / 1000);
        return { iss: ISS, aud: AUD, sub: 'a', client_id: 'a', scope: 'read', acr: 'urn:pki:acr:mtls', iat: n, exp: n + 300, jti: String(Math.random()), cnf: { 'x5t#S256': x5t } };
      };
      for (let i = 0; i < 5; i++) await v.verify(`Bearer ${await keys.signAccessToken(claims())}`, cert);
      expect(fetches).toBe(1);
      await createTokenSigningKey(ca.keyStore, ca.store, clock, 'test', { aheadMs: PUBLISH_AHEAD_MS });
      await keys.refresh();
      clock.advance(PUBLISH_AHEAD_MS);
      await v.verify(`Bearer ${await keys.signAccessToken(claims())}`, cert);
      expect(fetches).toBe(2);
    } finally {
      await new Promise((r) => server.close(r));
      await ca.close();
    }
  });
});
