import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/domain/clock.ts';
import { createEnrollmentKey, revokeEnrollmentKey } from '../../src/est/enrollment-keys.ts';
import { EstService } from '../../src/est/service.ts';
import { createAcmeApp } from '../../src/http/acme-https/fetch-app.ts';
import { estResource } from '../../src/http/est.ts';
import { estContext } from '../../src/instance/est.ts';
import { silentLogger } from '../../src/index.ts';
import { x509 } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';
import { useAcmeFixture } from '../acme/support/fixture.ts';

/** Enrollment keys in-process: use limits under concurrency, expiry, revocation, and the secret at rest. */
const t = useAcmeFixture();

function setup() {
  const clock = fixedClock(new Date());
  const ctx = { ...estContext(t.ca, { eabSealKey: t.f.ctx.eabSealKey, logger: silentLogger }), clock };
  const app = createAcmeApp(t.f.ctx, { subs: [estResource(new EstService(ctx))] });
  const key = (o: { maxUses?: number; lifetimeMs?: number } = {}) => createEnrollmentKey(ctx.store, ctx.sealKey, { label: 'devices', scopes: ['dns:*.dev.test'], clock, actor: 'test', ...o });
  const post = async (k: { id: string; secret: string }, csr: string) => {
    const r = await app.request('https://acme.test:9443/.well-known/est/simpleenroll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/pkcs10', Authorization: `Basic ${Buffer.from(`${k.id}:${k.secret}`).toString('base64')}` },
      body: csr,
    });
    return { status: r.status, text: await r.text() };
  };
  const enroll = async (k: { id: string; secret: string }, name: string) =>
    post(k, (await makeCsr({ cn: name, sans: [{ type: 'dns', value: name }] })).pem.replace(/-----[^-]+-----|\s/g, ''));
  return { ctx, clock, key, enroll, post };
}

describe('EST enrollment keys', () => {
  it('ok/concurrent enrollments never exceed --max-uses (one compare-and-set per use)', async () => {
    const s = setup();
    const k = s.key({ maxUses: 3 });
    // CSRs first, so all ten requests are in flight together and pass the credential check before any use is taken.
    const csrs = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await makeCsr({ cn: `c${i}.dev.test`, sans: [{ type: 'dns', value: `c${i}.dev.test` }] })).pem.replace(/-----[^-]+-----|\s/g, '')));
    const results = await Promise.all(csrs.map((csr) => s.post(k, csr)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 403)).toHaveLength(7);
    expect(s.ctx.store.enrollmentKeys.get(k.id)!.uses).toBe(3);
  });

  it('ok/a CSR the authority refuses (code signing asked of a TLS profile) is 400 and gives its use back', async () => {
    const s = setup();
    const k = s.key({ maxUses: 1 });
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=signer.dev.test',
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'signer.dev.test' }]), new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.3'])],
    });
    const r = await s.post(k, Buffer.from(csr.rawData).toString('base64'));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/bad CSR: .*extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.3/);
    expect(s.ctx.store.enrollmentKeys.get(k.id)!.uses).toBe(0);
    expect((await s.enroll(k, 'ok.dev.test')).status).toBe(200);
  });

  it('bad/an expired key and a revoked key are 403 saying which, after the secret is proved', async () => {
    const s = setup();
    const expiring = s.key({ lifetimeMs: 60_000 });
    s.clock.advance(61_000);
    const late = await s.enroll(expiring, 'late.dev.test');
    expect(late.status).toBe(403);
    expect(late.text).toMatch(/expired at/);
    const revoked = s.key();
    revokeEnrollmentKey(s.ctx.store, revoked.id, { clock: s.clock, actor: 'test' });
    const r = await s.enroll(revoked, 'r.dev.test');
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/was revoked/);
    // A wrong secret on a revoked key learns nothing about it: 401 like any wrong secret.
    expect((await s.enroll({ id: revoked.id, secret: Buffer.alloc(32).toString('base64url') }, 'r.dev.test')).status).toBe(401);
  });

  it('ok/the secret is stored sealed, never in clear', () => {
    const s = setup();
    const k = s.key();
    const row = t.ca.store.db.prepare('SELECT secret FROM est_enrollment_keys WHERE id = ?').get(k.id) as { secret: Buffer };
    expect(row.secret.includes(Buffer.from(k.secret, 'base64url'))).toBe(false);
    expect(row.secret.length).toBe(12 + 16 + 32);
  });
});
