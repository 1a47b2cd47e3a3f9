import { beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/domain/clock.ts';
import { addGrant } from '../../src/index.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';
import { call, claimsOf, clientCert, type ClientCert } from './support.ts';

const form = (p: Record<string, string>) => new URLSearchParams(p).toString();

describe('step-up (RFC 9470 pattern for machines): grants that ask more than a valid certificate', () => {
  const t = useAcmeServer();
  let origin: string;
  const token = (cert: ClientCert, p: Record<string, string>) => call(`${origin}/oauth/token`, { ca: t.rootPem, cert, body: form({ grant_type: 'client_credentials', ...p }) });

  beforeAll(async () => {
    origin = new URL(t.server.acme!.directoryUrl).origin;
    addGrant(t.ca, { client: 'spiffe://corp/ns/ops/*', audience: 'https://vault.internal', scopes: ['secrets:read'], requires: ['fresh:2s'] }, systemClock);
    addGrant(t.ca, { client: 'spiffe://corp/ns/ops/*', audience: 'https://vault.internal', scopes: ['secrets:write'], requires: ['profile:client', 'ttl:60s'] }, systemClock);
    addGrant(t.ca, { client: '*.ops.internal', audience: 'https://vault.internal', scopes: ['secrets:list'] }, systemClock);
  });

  it('ok/fresh:D met by a new certificate: acr urn:pki:acr:fresh; refused once it is older, naming what it needs', async () => {
    const c = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/ops/sa/rotator' });
    const ok = await token(c, { resource: 'https://vault.internal', scope: 'secrets:read' });
    expect(ok.status, ok.text).toBe(200);
    expect(claimsOf(ok.json.access_token as string).acr).toBe('urn:pki:acr:fresh');
    await new Promise((r) => setTimeout(r, 3100));
    const late = await token(c, { resource: 'https://vault.internal', scope: 'secrets:read' });
    expect(late.status).toBe(400);
    expect(late.json).toMatchObject({ error: 'insufficient_user_authentication', acr_values: 'urn:pki:acr:fresh', required: ['fresh:2s'] });
    expect(late.json.error_description).toMatch(/fresh:2s .*renew/);
  });

  it('ok/profile:P: refused for another profile, met under it (acr names the profile; ttl:60s caps exp)', async () => {
    const plain = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/ops/sa/writer' });
    const no = await token(plain, { resource: 'https://vault.internal', scope: 'secrets:write' });
    expect(no.status).toBe(400);
    expect(no.json).toMatchObject({ error: 'insufficient_user_authentication', acr_values: 'urn:pki:acr:profile:client' });
    expect(no.json.error_description).toMatch(/profile:client .*"default"/);
    const strong = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/ops/sa/writer', profile: 'client' });
    const yes = await token(strong, { resource: 'https://vault.internal', scope: 'secrets:write' });
    expect(yes.status, yes.text).toBe(200);
    expect(yes.json.expires_in).toBe(60);
    expect(claimsOf(yes.json.access_token as string).acr).toBe('urn:pki:acr:profile:client');
  });

  it('ok/a DNS-named client matches a *.zone grant; a name outside the zone or a sibling SPIFFE path does not', async () => {
    const dns = await clientCert(t.ca, { dns: 'api.ops.internal' });
    const r = await token(dns, { resource: 'https://vault.internal' });
    expect(r.status, r.text).toBe(200);
    expect(claimsOf(r.json.access_token as string)).toMatchObject({ sub: 'api.ops.internal', scope: 'secrets:list' });
    const outside = await clientCert(t.ca, { dns: 'ops.internal.evil' });
    expect((await token(outside, { resource: 'https://vault.internal' })).json.error).toBe('invalid_target');
    const sibling = await clientCert(t.ca, { spiffe: 'spiffe://corp/ns/opsx/sa/a' });
    expect((await token(sibling, { resource: 'https://vault.internal' })).json.error).toBe('invalid_target');
  });
});
