import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/domain/clock.ts';
import type { CaInstance } from '../../src/index.ts';
import { ClientAuthenticator, clientIdOf } from '../../src/oauth/client-auth.ts';
import { OAuthRepository } from '../../src/store/oauth-grants.ts';
import { createTestCa } from '../helpers/ca.ts';
import { clientCert } from './support.ts';

describe('client authentication (RFC 8705 tls_client_auth) on its own', () => {
  let ca: CaInstance;
  beforeAll(async () => {
    ca = await createTestCa();
  });
  afterAll(async () => {
    await ca?.close();
  });
  const authenticator = (clock = fixedClock(new Date())) => {
    const repo = new OAuthRepository(ca.store.db);
    return new ClientAuthenticator({ issuerDer: new Uint8Array(ca.intermediate.rawData), lookup: { record: (s) => ca.store.certificates.get(s), status: (s) => repo.certificateStatus(s) }, clock });
  };

  it('fail/an expired certificate, and one not yet valid, are invalid_client', async () => {
    const c = await clientCert(ca, { dns: 'api.internal', lifetimeMs: 3_600_000 });
    const clock = fixedClock(new Date());
    const auth = authenticator(clock);
    expect(auth.authenticate(c.der).clientId).toBe('api.internal');
    clock.advance(2 * 3_600_000);
    expect(() => auth.authenticate(c.der)).toThrow(/expired/);
    clock.set(new Date(Date.now() - 3_600_000));
    expect(() => auth.authenticate(c.der)).toThrow(/not valid before/);
  });

  it('fail/a certificate signed by the intermediate key but missing from the inventory is not trusted', async () => {
    const c = await clientCert(ca, { dns: 'ghost.internal' });
    ca.store.db.prepare('UPDATE certificates SET der = ? WHERE serial = ?').run(Buffer.from('other bytes'), c.serial);
    expect(() => authenticator().authenticate(c.der)).toThrow(/not one this CA issued/);
  });

  it('ok/the client id is the SPIFFE URI, else the first DNS name; quoted SAN entries are read', () => {
    expect(clientIdOf('DNS:a.internal, URI:spiffe://corp/ns/x, DNS:b.internal')).toBe('spiffe://corp/ns/x');
    expect(clientIdOf('URI:https://not.spiffe/x, DNS:a.internal')).toBe('a.internal');
    expect(clientIdOf('IP Address:127.0.0.1')).toBeNull();
    expect(clientIdOf('URI:"spiffe://corp/a,b", DNS:a.internal')).toBe('spiffe://corp/a,b');
    expect(clientIdOf(undefined)).toBeNull();
  });
});
