import { createHash, X509Certificate } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { addGrant } from '../../src/index.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';
import { createTestCa } from '../helpers/ca.ts';
import { call, claimsOf, clientCert, headerOf, type ClientCert } from './support.ts';

const PAYMENTS = 'spiffe://corp/ns/payments/sa/api';
const LEDGER = 'https://ledger.internal';
const form = (p: Record<string, string>) => new URLSearchParams(p).toString();

describe('OAuth token endpoint (RFC 6749 §4.4, RFC 8705, RFC 9068) on the TLS listener', () => {
  const t = useAcmeServer();
  let origin: string;
  let payments: ClientCert;
  const token = (body: string, o: { cert?: ClientCert | null; contentType?: string | null; method?: string } = {}) =>
    call(`${origin}/oauth/token`, { ca: t.rootPem, body, cert: o.cert === null ? undefined : (o.cert ?? payments), contentType: o.contentType, method: o.method });

  beforeAll(async () => {
    origin = new URL(t.server.acme!.directoryUrl).origin;
    payments = await clientCert(t.ca, { spiffe: PAYMENTS });
    addGrant(t.ca, { client: 'spiffe://corp/ns/payments/*', audience: LEDGER, scopes: ['ledger:write', 'ledger:read'], maxTtl: '5m' }, systemClock);
  });

  it('ok/issues an at+jwt bound to the client certificate, verifiable against the JWKS', async () => {
    const r = await token(form({ grant_type: 'client_credentials', resource: LEDGER, scope: 'ledger:write' }));
    expect(r.status, r.text).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['replay-nonce']).toBeUndefined();
    expect(r.json).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'ledger:write' });
    const jwt = r.json.access_token as string;
    expect(headerOf(jwt)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const jwks = await call(`${origin}/.well-known/jwks.json`, { ca: t.rootPem, method: 'GET', contentType: null });
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks.json as never), { issuer: origin, audience: LEDGER, typ: 'at+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ sub: PAYMENTS, client_id: PAYMENTS, scope: 'ledger:write', acr: 'urn:pki:acr:mtls' });
    expect((payload.cnf as Record<string, string>)['x5t#S256']).toBe(createHash('sha256').update(payments.der).digest('base64url'));
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(typeof payload.jti).toBe('string');
  });

  it('ok/exp never passes the client certificate\'s notAfter', async () => {
    const short = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/payments/sa/short', lifetimeMs: 90_000 });
    const r = await token(form({ grant_type: 'client_credentials' }), { cert: short });
    expect(r.status, r.text).toBe(200);
    const c = claimsOf(r.json.access_token as string) as { exp: number };
    expect(c.exp).toBeLessThanOrEqual(Math.floor(new Date(new X509Certificate(Buffer.from(short.der)).validTo).getTime() / 1000));
    expect(r.json.expires_in).toBeLessThan(120);
  });

  it('ok/no scope asked: every scope granted; no resource: the one audience granted', async () => {
    const r = await token(form({ grant_type: 'client_credentials' }));
    expect(r.status, r.text).toBe(200);
    expect(claimsOf(r.json.access_token as string)).toMatchObject({ aud: LEDGER, scope: 'ledger:write ledger:read' });
  });

  it('fail/no client certificate, another CA, a server-only certificate: invalid_client 401, no-store', async () => {
    const none = await token(form({ grant_type: 'client_credentials' }), { cert: null });
    expect(none.status).toBe(401);
    expect(none.json.error).toBe('invalid_client');
    expect(none.headers['cache-control']).toBe('no-store');
    const other = await createTestCa();
    try {
      const foreign = await clientCert(other, { spiffe: PAYMENTS });
      const r = await token(form({ grant_type: 'client_credentials' }), { cert: foreign });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ error: 'invalid_client' });
      expect(r.json.error_description).toMatch(/not issued by this CA/);
    } finally {
      await other.close();
    }
    const server = await clientCert(t.ca, { spiffe: PAYMENTS, profile: 'server' });
    const s = await token(form({ grant_type: 'client_credentials' }), { cert: server });
    expect(s.status).toBe(401);
    expect(s.json.error_description).toMatch(/clientAuth/);
  });

  it('fail/a revoked certificate gets no token, and introspection says its earlier tokens are inactive', async () => {
    const c = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/payments/sa/batch' });
    const before = await token(form({ grant_type: 'client_credentials' }), { cert: c });
    expect(before.status).toBe(200);
    // The resource server asks with its own certificate.
    const introspect = () => call(`${origin}/oauth/introspect`, { ca: t.rootPem, cert: payments, body: form({ token: before.json.access_token as string }) });
    expect((await introspect()).json).toMatchObject({ active: true, client_id: 'spiffe://corp/ns/payments/sa/batch' });
    await t.ca.authority.revoke(c.serial, { reason: 'keyCompromise' });
    const after = await token(form({ grant_type: 'client_credentials' }), { cert: c });
    expect(after.status).toBe(401);
    expect(after.json.error_description).toMatch(/revoked/);
    expect((await introspect()).json).toEqual({ active: false });
  });

  it.each([
    ['an unsupported grant type', form({ grant_type: 'password', username: 'a', password: 'b' }), 400, 'unsupported_grant_type'],
    ['no grant_type', form({ scope: 'ledger:write' }), 400, 'invalid_request'],
    ['a repeated parameter (RFC 6749 §3.2)', 'grant_type=client_credentials&scope=ledger:read&scope=ledger:write', 400, 'invalid_request'],
    ['two resources', 'grant_type=client_credentials&resource=https://a.internal&resource=https://b.internal', 400, 'invalid_request'],
    ['a broken %-escape', 'grant_type=client_credentials&scope=%zz', 400, 'invalid_request'],
    ['a scope not granted', form({ grant_type: 'client_credentials', resource: LEDGER, scope: 'ledger:admin' }), 400, 'invalid_scope'],
    ['a malformed scope', form({ grant_type: 'client_credentials', resource: LEDGER, scope: 'a  b' }), 400, 'invalid_scope'],
    ['an audience not granted', form({ grant_type: 'client_credentials', resource: 'https://vault.internal' }), 400, 'invalid_target'],
    ['a resource that is no absolute URI', form({ grant_type: 'client_credentials', resource: 'ledger' }), 400, 'invalid_target'],
    ['a resource with a fragment', form({ grant_type: 'client_credentials', resource: `${LEDGER}#x` }), 400, 'invalid_target'],
    ['a client_id that is not the certificate', form({ grant_type: 'client_credentials', client_id: 'spiffe://corp/ns/other' }), 401, 'invalid_client'],
  ])('fail/%s → %i %s (JSON, no-store)', async (_what, body, status, error) => {
    const r = await token(body);
    expect(r.status, r.text).toBe(status);
    expect(r.json.error).toBe(error);
    expect(r.json.error_description).toEqual(expect.any(String));
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('fail/wrong Content-Type, GET, oversized body: clear JSON errors, never 5xx', async () => {
    const json = await token(JSON.stringify({ grant_type: 'client_credentials' }), { contentType: 'application/json' });
    expect([json.status, json.json.error]).toEqual([400, 'invalid_request']);
    const get = await token('', { method: 'GET', contentType: null });
    expect([get.status, get.json.error, get.headers.allow]).toEqual([405, 'invalid_request', 'POST']);
    const big = await token(`grant_type=client_credentials&scope=${'a'.repeat(64 * 1024)}`);
    expect([big.status, big.json.error]).toEqual([413, 'invalid_request']);
    const bin = await token(Buffer.from([0xff, 0xfe, 0x3d]) as unknown as string);
    expect([bin.status, bin.json.error]).toEqual([400, 'invalid_request']);
  });

  it('ok/every refusal is audited and counted; issued tokens are counted in /metrics', async () => {
    await token(form({ grant_type: 'password' }));
    const refused = t.ca.store.db.prepare("SELECT details FROM audit_events WHERE action = 'oauth.token.refused' ORDER BY id DESC LIMIT 1").get() as { details: string };
    expect(JSON.parse(refused.details)).toMatchObject({ error: 'unsupported_grant_type' });
    const metrics = await t.ca.metrics.render();
    expect(metrics).toMatch(/pki_oauth_tokens_issued_total\{acr="urn:pki:acr:mtls"\} [1-9]/);
    expect(metrics).toMatch(/pki_oauth_refused_total\{endpoint="token",error="unsupported_grant_type"\} [1-9]/);
  });

  it('ok/RFC 8414 metadata names the endpoints, tls_client_auth and certificate-bound tokens', async () => {
    const r = await call(`${origin}/.well-known/oauth-authorization-server`, { ca: t.rootPem, method: 'GET', contentType: null });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      issuer: origin,
      token_endpoint: `${origin}/oauth/token`,
      jwks_uri: `${origin}/.well-known/jwks.json`,
      tls_client_certificate_bound_access_tokens: true,
      mtls_endpoint_aliases: { token_endpoint: `${origin}/oauth/token` },
      token_endpoint_auth_methods_supported: ['tls_client_auth'],
      grant_types_supported: ['client_credentials'],
    });
  });
});
