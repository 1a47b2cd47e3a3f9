import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaInstance } from '../../src/index.ts';
import { x509 } from '../../src/x509/x509.ts';
import { createTestCa } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';

/**
 * What a CSR asks for beyond its names is honoured (the leaf carries it) or refused with badCSR
 * saying why, never dropped in silence (#16). The requests are written by openssl, and the leaf is
 * read back by `openssl x509 -text`.
 */
let ca: CaInstance;
const work = tempDir();
const openssl = hasTool('openssl');

beforeAll(async () => {
  ca = await createTestCa({ baseUrl: 'http://ca.internal:9080' });
});
afterAll(async () => {
  await ca?.close();
});

/** A CSR from `openssl req` for svc.internal with extra `-addext` values; PEM text. */
function opensslCsr(name: string, addext: string[], key: 'ec' | 'rsa' = 'ec'): string {
  const out = join(work, `${name}.csr`);
  const newkey = key === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  const args = ['req', '-new', '-nodes', ...newkey, '-keyout', join(work, `${name}.key`), '-out', out, '-subj', '/CN=svc.internal', '-addext', 'subjectAltName=DNS:svc.internal'];
  for (const a of addext) args.push('-addext', a);
  execFileSync('openssl', args, { stdio: 'pipe' });
  return readFileSync(out, 'utf8');
}

function opensslText(pem: string, name: string): string {
  const file = join(work, `${name}.crt`);
  writeFileSync(file, pem);
  return run('openssl', ['x509', '-in', file, '-noout', '-text']);
}

describe.skipIf(!openssl)('requested extensions: honoured or refused, never dropped (openssl-made CSRs)', () => { // skips only locally: hasTool() throws when CI is set
  it('must-staple (tlsfeature=status_request) is honoured: the leaf carries the same non-critical TLS Feature', async () => {
    const csrPem = opensslCsr('staple', ['tlsfeature=status_request']);
    const issued = await ca.authority.issue(csrPem);
    const text = opensslText(issued.pem, 'staple');
    expect(text).toMatch(/TLS Feature:\s*\n\s*status_request/);
    expect(text).not.toMatch(/TLS Feature: critical/);
    const requested = new x509.Pkcs10CertificateRequest(csrPem).getExtension('1.3.6.1.5.5.7.1.24')!;
    const granted = new x509.X509Certificate(issued.pem).getExtension('1.3.6.1.5.5.7.1.24')!;
    expect(Buffer.from(granted.value).toString('hex')).toBe(Buffer.from(requested.value).toString('hex'));
    expect(granted.critical).toBe(false);
  });

  it('a leaf without the request carries no TLS Feature', async () => {
    const issued = await ca.authority.issue(opensslCsr('plain', []));
    expect(opensslText(issued.pem, 'plain')).not.toMatch(/TLS Feature/);
  });

  it('keyUsage: the leaf gets its own usage (a request is narrowed to it, as acme.sh and cert-manager need); a CA usage is refused, naming it', async () => {
    const ok = await ca.authority.issue(opensslCsr('ku-ok', ['keyUsage=critical,digitalSignature,keyEncipherment'], 'rsa'));
    expect(opensslText(ok.pem, 'ku-ok')).toMatch(/Key Usage: critical\s*\n\s*Digital Signature, Key Encipherment/);
    // acme-client (pki enroll) asks for keyEncipherment with any key; an EC leaf cannot carry it (RFC 5480 §3).
    const ec = await ca.authority.issue(opensslCsr('ku-ec', ['keyUsage=critical,digitalSignature,keyEncipherment']));
    expect(opensslText(ec.pem, 'ku-ec')).toMatch(/Key Usage: critical\s*\n\s*Digital Signature\s*\n/);
    // acme.sh asks for nonRepudiation: narrowed to the leaf's usage, not refused.
    const nr = await ca.authority.issue(opensslCsr('ku-nr', ['keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment'], 'rsa'));
    expect(opensslText(nr.pem, 'ku-nr')).toMatch(/Key Usage: critical\s*\n\s*Digital Signature, Key Encipherment\s*\n/);
    await expect(ca.authority.issue(opensslCsr('ku-crl', ['keyUsage=critical,digitalSignature,cRLSign'], 'rsa'))).rejects.toMatchObject({ kind: 'badCsr', message: expect.stringMatching(/key usage cRLSign, which only a CA/) });
    await expect(ca.authority.issue(opensslCsr('ku-ca', ['keyUsage=critical,keyCertSign']))).rejects.toMatchObject({ kind: 'badCsr', message: expect.stringMatching(/key usage keyCertSign/) });
  });

  const refused: [string, string[], RegExp][] = [
    ['a critical must-staple', ['tlsfeature=critical,status_request'], /critical TLS Feature .* non-critical only \(RFC 7633/],
    ['a TLS feature that is not stapling', ['tlsfeature=10'], /other than status_request/],
    ['certificatePolicies', ['certificatePolicies=1.2.3.4'], /extension 2\.5\.29\.32, which pki does not put in certificates/],
    ['an unknown extension', ['1.3.6.1.4.1.99999.7=ASN1:NULL'], /extension 1\.3\.6\.1\.4\.1\.99999\.7, which pki does not put/],
    ['a subjectKeyIdentifier that is not the key\'s', ['subjectKeyIdentifier=0102030405'], /subject key identifier 0102030405/],
    ['nameConstraints', ['nameConstraints=critical,permitted;DNS:svc.internal'], /unsupported critical extension 2\.5\.29\.30/],
  ];
  for (const [what, addext, message] of refused) {
    it(`${what}: badCSR saying why, nothing issued`, async () => {
      const before = ca.store.certificates.countByStatus();
      await expect(ca.authority.issue(opensslCsr(what.replace(/\W+/g, '-'), addext))).rejects.toMatchObject({ name: 'CaError', kind: 'badCsr', message: expect.stringMatching(message) });
      expect(ca.store.certificates.countByStatus()).toEqual(before);
    });
  }
});
