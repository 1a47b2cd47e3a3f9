import { createAdaptorServer } from '@hono/node-server';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/domain/clock.ts';
import { AccessTokenVerifier, addGrant, requireAccessToken, type AccessTokenClaims } from '../../src/index.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';
import { makeCsr } from '../helpers/ca.ts';
import { call, clientCert, type ClientCert } from './support.ts';

const LEDGER = 'https://ledger.internal';
const form = (p: Record<string, string>) => new URLSearchParams(p).toString();

/**
 * Two services: "payments" gets a token from pki and calls "ledger", a Hono app on mTLS that
 * checks the token with requireAccessToken. A token taken from payments and presented by another
 * workload with its own valid pki certificate is refused.
 */
describe('resource server: the verifier and Hono middleware (RFC 8705 §3.2, RFC 6750 §3, RFC 9470)', () => {
  const t = useAcmeServer();
  let origin: string;
  let ledger: Server;
  let ledgerUrl: string;
  let payments: ClientCert;
  let thief: ClientCert;
  let verifier: AccessTokenVerifier;
  const getToken = async (cert: ClientCert, scope: string) => {
    const r = await call(`${origin}/oauth/token`, { ca: t.rootPem, cert, body: form({ grant_type: 'client_credentials', resource: LEDGER, scope }) });
    expect(r.status, r.text).toBe(200);
    return r.json.access_token as string;
  };
  const callLedger = (path: string, cert: ClientCert, token?: string) => call(`${ledgerUrl}${path}`, { ca: t.rootPem, cert, method: 'GET', contentType: null, headers: token ? { Authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    origin = new URL(t.server.acme!.directoryUrl).origin;
    payments = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/payments/sa/api' });
    thief = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/payments/sa/batch' });
    addGrant(t.ca, { client: 'spiffe://corp/ns/payments/*', audience: LEDGER, scopes: ['ledger:write', 'ledger:read'] }, systemClock);
    verifier = new AccessTokenVerifier({ issuer: origin, audience: LEDGER, jwks: `${origin}/.well-known/jwks.json`, ca: t.rootPem });
    const app = new Hono<{ Variables: { accessToken: AccessTokenClaims } }>();
    app.get('/balance', requireAccessToken(verifier, { scope: ['ledger:read'] }), (c) => c.json({ caller: c.get('accessToken').sub }));
    app.get('/transfer', requireAccessToken(verifier, { scope: ['ledger:write'], acr: 'urn:pki:acr:fresh' }), (c) => c.json({ ok: true }));
    const csr = await makeCsr({ sans: [{ type: 'ip', value: '127.0.0.1' }] });
    const own = await t.ca.authority.issue(csr.pem, { profile: 'server' });
    ledger = createAdaptorServer({ fetch: app.fetch, createServer, serverOptions: { key: csr.keyPem, cert: own.chainPem, ca: t.rootPem, requestCert: true, rejectUnauthorized: true } }) as Server;
    await new Promise<void>((r) => ledger.listen(0, '127.0.0.1', r));
    ledgerUrl = `https://127.0.0.1:${(ledger.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => ledger?.close(r));
  });

  it('ok/payments calls ledger with its bound token over its own certificate', async () => {
    const token = await getToken(payments, 'ledger:read');
    const r = await callLedger('/balance', payments, token);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ caller: 'spiffe://corp/ns/payments/sa/api' });
  });

  it('fail/a stolen token presented over another valid pki certificate is refused (invalid_token)', async () => {
    const token = await getToken(payments, 'ledger:read');
    expect((await callLedger('/balance', thief, await getToken(thief, 'ledger:read'))).status).toBe(200); // the thief's own token works
    const r = await callLedger('/balance', thief, token);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="the token is bound to another certificate/);
  });

  it('fail/no token, a missing scope, an acr that falls short: 401 / 403 / RFC 9470 challenge', async () => {
    const none = await callLedger('/balance', payments);
    expect([none.status, none.headers['www-authenticate']]).toEqual([401, 'Bearer']);
    const readOnly = await getToken(payments, 'ledger:read');
    const scope = await callLedger('/transfer', payments, readOnly);
    expect(scope.status).toBe(403);
    expect(scope.headers['www-authenticate']).toMatch(/error="insufficient_scope".*scope="ledger:write"/);
    const write = await getToken(payments, 'ledger:write');
    const acr = await callLedger('/transfer', payments, write);
    expect(acr.status).toBe(401);
    expect(acr.headers['www-authenticate']).toMatch(/error="insufficient_user_authentication".*acr_values="urn:pki:acr:fresh"/);
  });

  it('fail/expired, another audience, alg confusion (HS256 keyed with the public JWK, alg none), a wrong typ', async () => {
    const token = await getToken(payments, 'ledger:read');
    const later = new AccessTokenVerifier({ issuer: origin, audience: LEDGER, jwks: `${origin}/.well-known/jwks.json`, ca: t.rootPem, now: () => Date.now() + 16 * 60_000 });
    await expect(later.verify(`Bearer ${token}`, payments.der)).rejects.toMatchObject({ error: 'invalid_token', description: expect.stringMatching(/exp/) });
    const other = new AccessTokenVerifier({ issuer: origin, audience: 'https://other.internal', jwks: `${origin}/.well-known/jwks.json`, ca: t.rootPem });
    await expect(other.verify(`Bearer ${token}`, payments.der)).rejects.toMatchObject({ error: 'invalid_token', description: expect.stringMatching(/aud/) });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const jwks = (await call(`${origin}/.well-known/jwks.json`, { ca: t.rootPem, method: 'GET', contentType: null })).json as { keys: { kid: string }[] };
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwks.keys[0]!.kid }).sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${token.split('.')[1]}.`;
    const wrongTyp = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new Uint8Array(32));
    for (const forged of [hs, none, wrongTyp]) {
      const r = await callLedger('/balance', payments, forged);
      expect(r.status, forged).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    }
  });
});
