import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaInstance } from '../../src/index.ts';
import { x509 } from '../../src/x509/x509.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run, runStatus } from '../helpers/tools.ts';

let ca: CaInstance;
const work = tempDir();

beforeAll(async () => {
  ca = await createTestCa({ baseUrl: 'http://ca.internal:9080' });
});
afterAll(async () => {
  await ca?.close();
});

describe('Authority.issue: the default leaf profile', () => {
  it('ok/carries every extension STANDARDS.md lists, with the right criticality', async () => {
    const { pem } = await makeCsr({ cn: 'api.payments.internal', sans: [{ type: 'dns', value: 'api.payments.internal' }, { type: 'ip', value: '10.1.2.3' }, { type: 'url', value: 'spiffe://corp/payments/api' }] });
    const issued = await ca.authority.issue(pem);
    const cert = new x509.X509Certificate(issued.pem);

    const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.ca).toBe(false);
    expect(bc.critical).toBe(true);

    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.critical).toBe(true);
    expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature); // EC key: no keyEncipherment

    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)!;
    expect(eku.usages).toEqual([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);

    const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.names.items.map((n) => `${n.type}:${n.value}`)).toEqual(['dns:api.payments.internal', 'ip:10.1.2.3', 'url:spiffe://corp/payments/api']);

    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)!;
    expect(ski.keyId).toMatch(/^[0-9a-f]{40}$/);
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!;
    expect(aki.keyId).toBe(ca.intermediate.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);

    const aia = cert.getExtension(x509.AuthorityInfoAccessExtension)!;
    expect(aia.ocsp.map((g) => g.value)).toEqual(['http://ca.internal:9080/ocsp']);
    expect(aia.caIssuers.map((g) => g.value)).toEqual(['http://ca.internal:9080/ca/intermediate.crt']);

    const cdp = cert.getExtension(x509.CRLDistributionPointsExtension)!;
    const cdpUrl = cdp.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier;
    expect(cdpUrl).toBe(`http://ca.internal:9080/crl/${aki.keyId}/0.crl`);

    expect(cert.subject).toBe('CN=api.payments.internal');
    expect(cert.issuer).toBe(ca.intermediate.subject);
    expect(await cert.verify({ publicKey: ca.intermediate.publicKey, signatureOnly: true })).toBe(true);
  });

  it('ok/24 h lifetime by default, backdated at most 2 minutes, inside the issuer', async () => {
    const before = Date.now();
    const issued = await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'life.internal' }] })).pem);
    const cert = new x509.X509Certificate(issued.pem);
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBeLessThanOrEqual(24 * 3600_000 + 120_000);
    expect(cert.notAfter.getTime() - before).toBeGreaterThan(24 * 3600_000 - 2000);
    expect(before - cert.notBefore.getTime()).toBeLessThanOrEqual(120_000);
    expect(cert.notAfter <= ca.intermediate.notAfter).toBe(true);
    // An empty subject makes the SAN critical (RFC 5280 §4.2.1.6).
    expect(cert.subject).toBe('');
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)!.critical).toBe(true);
  });

  it('ok/records the certificate as valid with its DER and an audit row', async () => {
    const issued = await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'stored.internal' }] })).pem, { actor: 'test' });
    const row = ca.store.certificates.get(issued.serial)!;
    expect(row.status).toBe('valid');
    expect(Buffer.from(row.der!)).toEqual(Buffer.from(issued.der));
    expect(row.sans).toEqual(['dns:stored.internal']);
    const audit = ca.store.audit.list({ target: issued.serial });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([['certificate.issued', 'test']]);
  });

  it('ok/the client profile has clientAuth only', async () => {
    const issued = await ca.authority.issue((await makeCsr({ sans: [{ type: 'url', value: 'spiffe://corp/job' }] })).pem, { profile: 'client' });
    expect(new x509.X509Certificate(issued.pem).getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
  });

  it('fail/refusals leave no valid row behind', async () => {
    const count = () => ca.store.certificates.countByStatus().valid ?? 0;
    const n = count();
    await expect(ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'x.internal' }] })).pem, { profile: 'nope' })).rejects.toMatchObject({ kind: 'malformed' });
    await expect(ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'x.internal' }] })).pem, { lifetimeMs: 400 * 86_400_000 })).rejects.toMatchObject({ kind: 'malformed' });
    await expect(ca.authority.issue((await makeCsr({})).pem)).rejects.toMatchObject({ kind: 'badCsr', detail: expect.stringMatching(/no identifiers/) });
    await expect(
      ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'a.internal' }] })).pem, { identifiers: [{ type: 'dns', value: 'b.internal' }] }),
    ).rejects.toMatchObject({ kind: 'badCsr' });
    expect(count()).toBe(n);
  });

  it('ok/a leaf from an openssl req CSR verifies with openssl and certtool', async ({ skip }) => {
    if (!hasTool('openssl')) return skip();
    const key = join(work, 'leaf.key');
    const csr = join(work, 'leaf.csr');
    run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=rsa.internal', '-addext', 'subjectAltName=DNS:rsa.internal,IP:10.9.9.9', '-out', csr]);
    const issued = await ca.authority.issue(run('openssl', ['req', '-in', csr]));
    const leaf = join(work, 'leaf.pem');
    const root = join(work, 'root.pem');
    const inter = join(work, 'intermediate.pem');
    writeFileSync(leaf, issued.pem);
    writeFileSync(root, ca.root.toString('pem'));
    writeFileSync(inter, ca.intermediate.toString('pem'));
    expect(run('openssl', ['verify', '-CAfile', root, '-untrusted', inter, leaf]).trim()).toBe(`${leaf}: OK`);
    // RSA leaf: keyEncipherment as well.
    expect(run('openssl', ['x509', '-in', leaf, '-noout', '-ext', 'keyUsage'])).toMatch(/Digital Signature, Key Encipherment/);
    // The chain must not verify against a different root: the check above can fail.
    const other = await createTestCa();
    writeFileSync(join(work, 'other-root.pem'), other.root.toString('pem'));
    expect(runStatus('openssl', ['verify', '-CAfile', join(work, 'other-root.pem'), '-untrusted', inter, leaf]).status).not.toBe(0);
    await other.close();

    if (hasTool('certtool', ['--version'])) {
      writeFileSync(join(work, 'chain.pem'), issued.pem + ca.intermediate.toString('pem'));
      const r = runStatus('certtool', ['--verify', '--load-ca-certificate', root, '--infile', join(work, 'chain.pem')]);
      expect(r.stdout + r.stderr).toMatch(/Chain verification output: Verified/);
      expect(r.status).toBe(0);
    }
  });
});

describe('Authority.revoke', () => {
  it('ok/revokes once, then says already revoked', async () => {
    const issued = await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'revoke.internal' }] })).pem);
    const rec = await ca.authority.revoke(issued.serial, { reason: 'keyCompromise', actor: 'test' });
    expect(rec.status).toBe('revoked');
    expect(rec.reason).toBe(1);
    await expect(ca.authority.revoke(issued.serial, { reason: 'superseded' })).rejects.toMatchObject({ kind: 'alreadyRevoked' });
    await expect(ca.authority.revoke('7f00')).rejects.toMatchObject({ kind: 'notFound' });
  });
});
