import { X509Certificate } from 'node:crypto';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/domain/clock.ts';
import { CaError } from '../../src/domain/errors.ts';
import type { WorkloadTokenVerifier } from '../../src/domain/workload-token.ts';
import { EstService } from '../../src/est/service.ts';
import { createAcmeApp } from '../../src/http/acme-https/fetch-app.ts';
import { estResource } from '../../src/http/est.ts';
import { estContext } from '../../src/instance/est.ts';
import { silentLogger } from '../../src/index.ts';
import { certificatesOfPkcs7 } from '../../src/x509/pkcs7.ts';
import { makeCsr } from '../helpers/ca.ts';
import { useAcmeFixture } from '../acme/support/fixture.ts';

/**
 * EST in-process (the same pipeline the listener runs): simpleenroll with a Bearer workload token
 * checked by a verifier built here on a real jose-signed JWT, and renewal.maxLineage with a clock
 * the test moves. The peer certificate stands for the one a TLS handshake would carry.
 */
const t = useAcmeFixture();
const ISSUER = 'https://k8s.test';
const { publicKey, privateKey } = await generateKeyPair('ES256');
const other = await generateKeyPair('ES256');

/** A verifier as src/identity/ will make one: signature, iss, aud, exp; `sub` → the service's DNS name. */
const verifier: WorkloadTokenVerifier = async (token) => {
  try {
    const { payload } = await jwtVerify(token, publicKey, { issuer: ISSUER, audience: 'pki', algorithms: ['ES256'] });
    const m = /^system:serviceaccount:([a-z0-9-]+):([a-z0-9-]+)$/.exec(payload.sub ?? '');
    if (!m) throw new Error('sub maps to nothing');
    return { issuer: ISSUER, subject: payload.sub!, identifiers: [{ type: 'dns', value: `${m[2]}.${m[1]}.svc` }] };
  } catch (e) {
    throw new CaError('unauthorized', (e as Error).message);
  }
};

const token = (o: { sub?: string; key?: CryptoKey; exp?: string } = {}) =>
  new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer(ISSUER).setAudience('pki').setSubject(o.sub ?? 'system:serviceaccount:payments:api').setIssuedAt().setExpirationTime(o.exp ?? '10m').sign(o.key ?? privateKey);

function app(o: { maxLineageMs?: number; withVerifier?: boolean } = {}) {
  const clock = fixedClock(new Date());
  const base = estContext(t.ca, { eabSealKey: t.f.ctx.eabSealKey, logger: silentLogger, ...(o.withVerifier === false ? {} : { tokenVerifier: verifier }) });
  const est = new EstService({ ...base, clock, settings: { ...base.settings, maxLineageMs: o.maxLineageMs ?? base.settings.maxLineageMs } });
  let peer: Uint8Array | null = null;
  const fetchApp = createAcmeApp(t.f.ctx, { subs: [estResource(est)], peerCertificate: () => peer });
  const post = async (op: string, csrPem: string, headers: Record<string, string> = {}) => {
    const body = csrPem.replace(/-----[^-]+-----|\s/g, '');
    const r = await fetchApp.request(`https://acme.test:9443/.well-known/est/${op}`, { method: 'POST', headers: { 'Content-Type': 'application/pkcs10', ...headers }, body });
    const text = await r.text();
    return { status: r.status, text, headers: r.headers, der: r.status === 200 ? certificatesOfPkcs7(new Uint8Array(Buffer.from(text, 'base64')))[0]! : null };
  };
  return { clock, post, setPeer: (der: Uint8Array | null) => (peer = der) };
}

describe('EST simpleenroll with a Bearer workload identity token', () => {
  it('ok/a valid token gets the names its grant yields, audited with issuer and subject', async () => {
    const a = app();
    const csr = await makeCsr({ cn: 'api.payments.svc', sans: [{ type: 'dns', value: 'api.payments.svc' }] });
    const r = await a.post('simpleenroll', csr.pem, { Authorization: `Bearer ${await token()}` });
    expect(r.status, r.text).toBe(200);
    const cert = new X509Certificate(r.der!);
    expect(cert.subjectAltName).toBe('DNS:api.payments.svc');
    const event = t.ca.store.audit.list({ target: cert.serialNumber.toLowerCase() }).find((e) => e.action === 'certificate.issued');
    expect(event?.actor).toBe(`est:token:${ISSUER}#system:serviceaccount:payments:api`);
  });

  it('bad/a name the grant does not yield is 403; a token signed by another key or expired is 401 invalid_token', async () => {
    const a = app();
    const csr = await makeCsr({ cn: 'db.payments.svc', sans: [{ type: 'dns', value: 'db.payments.svc' }] });
    const outside = await a.post('simpleenroll', csr.pem, { Authorization: `Bearer ${await token()}` });
    expect(outside.status).toBe(403);
    expect(outside.text).toMatch(/does not allow dns:db\.payments\.svc/);
    const forged = await a.post('simpleenroll', csr.pem, { Authorization: `Bearer ${await token({ key: other.privateKey })}` });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toMatch(/Bearer .*error="invalid_token"/);
    const expired = await a.post('simpleenroll', csr.pem, { Authorization: `Bearer ${await token({ exp: '-1m' })}` });
    expect(expired.status).toBe(401);
    expect(expired.text).toMatch(/the Bearer token was refused: .*exp/);
  });

  it('bad/with no verifier configured, Bearer is 401 saying no issuer is trusted', async () => {
    const a = app({ withVerifier: false });
    const csr = await makeCsr({ cn: 'api.payments.svc', sans: [{ type: 'dns', value: 'api.payments.svc' }] });
    const r = await a.post('simpleenroll', csr.pem, { Authorization: `Bearer ${await token()}` });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Basic realm="pki EST"');
  });
});

describe('renewal.maxLineage', () => {
  it('ok→bad/renewals chain from the last fresh issuance; past maxLineage a fresh enrollment is required', async () => {
    const a = app({ maxLineageMs: 60_000 });
    const names = { cn: 'lineage.test', sans: [{ type: 'dns' as const, value: 'lineage.test' }] };
    const fresh = await t.ca.authority.issue((await makeCsr(names)).pem);
    a.setPeer(fresh.der);
    const first = await a.post('simplereenroll', (await makeCsr(names)).pem);
    expect(first.status, first.text).toBe(200);
    const firstSerial = new X509Certificate(first.der!).serialNumber.toLowerCase();
    const start = t.ca.store.certificates.get(fresh.serial)!.createdAt;
    expect(t.ca.store.lineage.get(firstSerial)).toMatchObject({ replaces: fresh.serial, start });
    a.setPeer(first.der);
    a.clock.advance(30_000);
    const second = await a.post('simplereenroll', (await makeCsr(names)).pem);
    expect(second.status, second.text).toBe(200);
    // The chain keeps the start of its first link, not of the certificate it renews.
    expect(t.ca.store.lineage.get(new X509Certificate(second.der!).serialNumber.toLowerCase())?.start).toEqual(start);
    a.setPeer(second.der);
    a.clock.advance(31_000);
    const third = await a.post('simplereenroll', (await makeCsr(names)).pem);
    expect(third.status).toBe(403);
    expect(third.text).toMatch(/renewal\.maxLineage \(1m\): a fresh enrollment is required/);
  });
});
