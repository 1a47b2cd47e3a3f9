import { beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigningKey } from '../../src/authority/token-signing.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { addGrant } from '../../src/index.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';
import { call, clientCert, type ClientCert } from './support.ts';

const body = 'grant_type=client_credentials';

describe('OAuth without a token-signing key, and introspection edge cases', () => {
  const t = useAcmeServer();
  let origin: string;
  let cert: ClientCert;

  beforeAll(async () => {
    origin = new URL(t.server.acme!.directoryUrl).origin;
    cert = await clientCert(t.ca, { dns: 'api.apps.internal' });
    addGrant(t.ca, { client: '*.apps.internal', audience: 'https://ledger.internal', scopes: ['read'] }, systemClock);
  });

  it('fail/no signing key (an instance older than OAuth, all retired): 503 JSON naming the fix, then works once one is created', async () => {
    t.ca.store.db.prepare('UPDATE oauth_signing_keys SET retired_at = 1').run();
    const r = await call(`${origin}/oauth/token`, { ca: t.rootPem, cert, body });
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ error: 'temporarily_unavailable' });
    expect(r.json.error_description).toMatch(/pki keys rotate-token/);
    await createTokenSigningKey(t.ca.keyStore, t.ca.store, systemClock, 'test');
    const ok = await call(`${origin}/oauth/token`, { ca: t.rootPem, cert, body });
    expect(ok.status, ok.text).toBe(200);
  });

  it('fail/introspection: a garbage or foreign token is inactive; no certificate is 401; GET is 405; no token is invalid_request', async () => {
    const ask = (o: { body?: string; cert?: ClientCert; method?: string }) => call(`${origin}/oauth/introspect`, { ca: t.rootPem, contentType: o.method === 'GET' ? null : undefined, ...o });
    expect((await ask({ cert, body: 'token=not.a.jwt' })).json).toEqual({ active: false });
    const foreign = 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJodHRwczovL2V2aWwifQ.' + 'A'.repeat(86);
    expect((await ask({ cert, body: `token=${foreign}` })).json).toEqual({ active: false });
    const anonymous = await ask({ body: 'token=x' });
    expect([anonymous.status, anonymous.json.error]).toEqual([401, 'invalid_client']);
    const get = await ask({ cert, method: 'GET' });
    expect([get.status, get.headers.allow]).toEqual([405, 'POST']);
    const empty = await ask({ cert, body: '' });
    expect([empty.status, empty.json.error]).toEqual([400, 'invalid_request']);
    const tok = await call(`${origin}/oauth/token`, { ca: t.rootPem, cert, body });
    const active = await ask({ cert, body: `token=${tok.json.access_token as string}` });
    expect(active.json).toMatchObject({ active: true, client_id: 'api.apps.internal', aud: 'https://ledger.internal', scope: 'read', token_type: 'Bearer' });
  });
});
