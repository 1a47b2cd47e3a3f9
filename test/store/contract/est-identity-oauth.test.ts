import { expect, it } from 'vitest';
import { EstStore } from '../../../src/store/est-store.ts';
import type { EnrollmentKeyRecord } from '../../../src/store/est-enrollment-keys.ts';
import { IdentityIssuerRepository, type IdentityIssuerRecord } from '../../../src/store/identity-issuers.ts';
import { OAuthRepository } from '../../../src/store/oauth-grants.ts';
import { ALL_BYTES, at, contract } from './backends.ts';

const NOW = at('2026-03-01T00:00:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

const enrollmentKey = (id: string, o: Partial<EnrollmentKeyRecord> = {}): EnrollmentKeyRecord => ({
  id,
  label: `key ${id}`,
  sealedSecret: new Uint8Array(ALL_BYTES),
  scopes: ['dns:*.devices.example'],
  status: 'active',
  maxUses: null,
  uses: 0,
  expiresAt: null,
  createdAt: NOW,
  ...o,
});

const issuer = (iss: string, o: Partial<IdentityIssuerRecord> = {}): IdentityIssuerRecord => ({
  issuer: iss,
  audience: 'pki',
  jwks: '{"keys":[]}',
  jwksUrl: null,
  jwksCa: null,
  template: '{"claims":{}}',
  maxLifetimeMs: 3_600_000,
  createdAt: NOW,
  ...o,
});

contract('EST enrollment keys', (f) => {
  const est = async () => new EstStore((await f.fresh()).db);

  it('ok/insert, get (sealed secret byte for byte), list in creation order, revoke once', async () => {
    const e = await est();
    e.enrollmentKeys.insert(enrollmentKey('e2', { createdAt: later(1), maxUses: 3, expiresAt: later(60_000) }));
    e.enrollmentKeys.insert(enrollmentKey('e1'));
    const k = e.enrollmentKeys.get('e2')!;
    expect(Buffer.from(k.sealedSecret).equals(ALL_BYTES)).toBe(true);
    expect(k).toMatchObject({ maxUses: 3, uses: 0, expiresAt: later(60_000), scopes: ['dns:*.devices.example'] });
    expect(e.enrollmentKeys.get('e1')).toMatchObject({ maxUses: null, expiresAt: null });
    expect(e.enrollmentKeys.list().map((x) => x.id)).toEqual(['e1', 'e2']);
    expect(e.enrollmentKeys.revoke('e1')).toBe(true);
    expect(e.enrollmentKeys.revoke('e1')).toBe(false);
    expect(e.enrollmentKeys.get('none')).toBeNull();
  });

  it('ok/uses up to max, given back, never on a revoked key; unlimited without max', async () => {
    const e = await est();
    e.enrollmentKeys.insert(enrollmentKey('lim', { maxUses: 2 }));
    e.enrollmentKeys.insert(enrollmentKey('any'));
    expect(e.enrollmentKeys.takeUse('lim')).toBe(true);
    expect(e.enrollmentKeys.takeUse('lim')).toBe(true);
    expect(e.enrollmentKeys.takeUse('lim')).toBe(false);
    e.enrollmentKeys.returnUse('lim');
    expect(e.enrollmentKeys.get('lim')?.uses).toBe(1);
    expect(e.enrollmentKeys.takeUse('lim')).toBe(true);
    for (let i = 0; i < 5; i++) expect(e.enrollmentKeys.takeUse('any')).toBe(true);
    e.enrollmentKeys.returnUse('none');
    e.enrollmentKeys.revoke('any');
    expect(e.enrollmentKeys.takeUse('any')).toBe(false);
    expect(e.enrollmentKeys.takeUse('none')).toBe(false);
    const zero = enrollmentKey('zero');
    e.enrollmentKeys.insert(zero);
    e.enrollmentKeys.returnUse('zero');
    expect(e.enrollmentKeys.get('zero')?.uses).toBe(0);
  });

  it('ok/the EST store reads certificates and lineage on the same connection', async () => {
    const e = await est();
    e.certificates.reserve({ serial: '0e', issuer: 'ik', subject: 'CN=d', sans: ['dns:d.devices.example'], profile: 'device', notBefore: NOW, notAfter: later(1e9), publicKeySha256: 'pk', now: NOW });
    e.transaction(() => {
      e.certificates.markValid('0e', ALL_BYTES);
      e.audit.append({ at: NOW, action: 'certificate.issued', actor: 'est', target: '0e' });
    });
    expect(e.certificates.get('0e')?.status).toBe('valid');
    expect(e.lineage.get('0e')).toStrictEqual({ replaces: null, start: NOW, publicKeySha256: 'pk' });
  });
});

contract('identity issuers and token uses', (f) => {
  const repo = async () => new IdentityIssuerRepository((await f.fresh()).db);

  it('ok/insert once per issuer, get, list in issuer order, count, remove', async () => {
    const r = await repo();
    expect(r.insert(issuer('https://b.example'))).toBe(true);
    expect(r.insert(issuer('https://a.example', { jwks: null, jwksUrl: 'https://a.example/jwks', jwksCa: '-----BEGIN CERTIFICATE-----' }))).toBe(true);
    expect(r.insert(issuer('https://b.example', { audience: 'other' }))).toBe(false);
    expect(r.get('https://b.example')).toStrictEqual(issuer('https://b.example'));
    expect(r.get('https://a.example')).toMatchObject({ jwks: null, jwksUrl: 'https://a.example/jwks' });
    expect(r.list().map((i) => i.issuer)).toEqual(['https://a.example', 'https://b.example']);
    expect(r.count()).toBe(2);
    expect(r.remove('https://a.example')).toBe(true);
    expect(r.remove('https://a.example')).toBe(false);
    expect(r.get('https://a.example')).toBeNull();
  });

  it('ok/text orders by code point on both backends (upper case before lower, as SQLite), whatever the database collation', async () => {
    const r = await repo();
    for (const iss of ['https://b.example', 'https://a.example', 'https://C.example', 'https://a-b.example', 'https://ä.example']) r.insert(issuer(iss));
    expect(r.list().map((i) => i.issuer)).toEqual(['https://C.example', 'https://a-b.example', 'https://a.example', 'https://b.example', 'https://ä.example']);
  });

  it('bad/an issuer with both or neither key sources is refused by the schema', async () => {
    const r = await repo();
    expect(() => r.insert(issuer('https://x.example', { jwksUrl: 'https://x.example/j' }))).toThrow();
    expect(() => r.insert(issuer('https://y.example', { jwks: null }))).toThrow();
    expect(r.count()).toBe(0);
  });

  it('ok/a jti is used once; the same presenter may present it again; expired uses are forgotten', async () => {
    const r = await repo();
    const use = (jti: string, presenter: string | null, now = NOW, iss = 'https://a.example') => r.use({ issuer: iss, jti, presenter, expiresAt: later(60_000), now });
    expect(use('j1', null)).toBe(true);
    expect(use('j1', null)).toBe(false);
    expect(use('j1', 'acc1')).toBe(false); // first use had no presenter
    expect(use('j1', null, NOW, 'https://b.example')).toBe(true); // jti is per issuer
    expect(use('j2', 'acc1')).toBe(true);
    expect(use('j2', 'acc1')).toBe(true);
    expect(use('j2', 'acc2')).toBe(false);
    expect(use('j2', null)).toBe(false);
    expect(use('j1', null, later(120_000))).toBe(true); // the old use expired and was purged
  });
});

contract('OAuth grants and signing keys', (f) => {
  const repo = async () => {
    const s = await f.fresh();
    return { s, o: new OAuthRepository(s.db) };
  };

  it('ok/grants: add, list in creation order, by audience, audiences, remove once', async () => {
    const { o } = await repo();
    const g1 = o.addGrant({ client: 'spiffe://x/*', audience: 'https://api.example', scopes: ['read', 'write'], maxTtlMs: null, requires: [] }, NOW);
    const g2 = o.addGrant({ client: 'dns:*.example', audience: 'https://db.example', scopes: ['read'], maxTtlMs: 60_000, requires: ['fresh:10m', 'profile:hsm'] }, later(1));
    expect(g1.id).toMatch(/^g_[0-9a-f]{12}$/);
    expect(o.listGrants()).toStrictEqual([g1, g2]);
    expect(o.grantsFor('https://db.example')).toStrictEqual([g2]);
    expect(o.grantsFor('https://none.example')).toEqual([]);
    expect(o.audiences().sort()).toEqual(['https://api.example', 'https://db.example']);
    expect(o.removeGrant(g1.id)).toStrictEqual(g1);
    expect(o.removeGrant(g1.id)).toBeNull();
    expect(o.listGrants()).toStrictEqual([g2]);
  });

  it('ok/a client certificate status without its DER; null for an unknown serial', async () => {
    const { s, o } = await repo();
    s.certificates.reserve({ serial: '0f', issuer: 'ik', subject: 'CN=c', sans: [], profile: 'client', notBefore: NOW, notAfter: later(86_400_000), publicKeySha256: 'k', now: NOW });
    expect(o.certificateStatus('0f')).toStrictEqual({ status: 'pending', notBefore: NOW, notAfter: later(86_400_000), createdAt: NOW, profile: 'client' });
    expect(o.certificateStatus('00')).toBeNull();
  });

  it('ok/signing keys: in signing order, retiring the others once, kid unique', async () => {
    const { o } = await repo();
    o.addSigningKey('k-old', 'kid1', NOW, NOW);
    o.addSigningKey('k-new', 'kid2', later(10), later(100));
    expect(() => o.addSigningKey('k-dup', 'kid2', NOW, NOW)).toThrow();
    expect(o.retireOthers('k-new', later(100))).toBe(1);
    expect(o.retireOthers('k-new', later(100))).toBe(0);
    expect(o.retireOthers('k-new', later(50))).toBe(1); // an earlier retirement replaces a later one
    expect(o.signingKeys()).toStrictEqual([
      { label: 'k-old', kid: 'kid1', createdAt: NOW, signsFrom: NOW, retiredAt: later(50) },
      { label: 'k-new', kid: 'kid2', createdAt: later(10), signsFrom: later(100), retiredAt: null },
    ]);
  });
});
