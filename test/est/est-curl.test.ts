import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';
import { curl, enrollmentKey, opensslCsr, opensslVerify, pkcs7Certs, postCsr, useEstServer } from './support.ts';

/**
 * EST (RFC 7030) end to end with curl and openssl as the client, against the real TLS listener:
 * cacerts, simpleenroll with an enrollment key, simplereenroll with the current certificate over
 * mTLS, each certificate checked with `openssl verify`; then the refusals.
 */
const work = tempDir();
const t = useEstServer(work);
// skips only locally: hasTool() throws when CI is set
const tools = hasTool('openssl') && hasTool('curl', ['--version']);

/** Enrolls `name` with a fresh enrollment key; returns the files of the pair. */
async function enrolled(name: string): Promise<{ certFile: string; keyFile: string; serial: string }> {
  const key = await enrollmentKey(t.ca, ['dns:*.devices.test']);
  const { keyFile, csrFile } = opensslCsr(work, name);
  const r = await postCsr(t, work, 'simpleenroll', csrFile, ['--user', `${key.id}:${key.secret}`]);
  expect(r.status, r.body).toBe(200);
  const certFile = join(work, `${name}.pem`);
  writeFileSync(certFile, pkcs7Certs(work, r.body));
  return { certFile, keyFile, serial: new X509Certificate(readFileSync(certFile)).serialNumber.toLowerCase() };
}

describe.skipIf(!tools)('EST with curl + openssl', () => { // skips only locally: the tool check throws when CI is set
  it('ok/cacerts is base64 PKCS#7 certs-only with the intermediate and the root', async () => {
    const r = await curl(t, work, '/.well-known/est/cacerts');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/pkcs7-mime; smime-type=certs-only');
    expect(r.headers['content-transfer-encoding']).toBe('base64');
    expect(r.headers['replay-nonce']).toBeUndefined();
    const pem = pkcs7Certs(work, r.body);
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const chain = join(work, 'cacerts.pem');
    writeFileSync(chain, pem);
    expect(execFileSync('openssl', ['verify', '-CAfile', t.rootFile, t.intermediateFile], { encoding: 'utf8' })).toMatch(/OK/);
  });

  it('ok/csrattrs answers 204: no attributes beyond the CSR policy', async () => {
    expect((await curl(t, work, '/.well-known/est/csrattrs')).status).toBe(204);
  });

  it('ok/simpleenroll with an enrollment key issues the CSR names, verified by openssl', async () => {
    const { certFile, serial } = await enrolled('cam1.devices.test');
    expect(opensslVerify(t, certFile)).toMatch(/: OK/);
    expect(new X509Certificate(readFileSync(certFile)).subjectAltName).toBe('DNS:cam1.devices.test');
    expect(t.ca.store.certificates.get(serial)?.status).toBe('valid');
  });

  it('ok/simplereenroll with --cert/--key renews the same names with a new key and records what it replaces', async () => {
    const first = await enrolled('cam2.devices.test');
    const { keyFile, csrFile } = opensslCsr(work, 'cam2.devices.test-next', { cn: 'cam2.devices.test', sans: 'DNS:cam2.devices.test' });
    const r = await postCsr(t, work, 'simplereenroll', csrFile, ['--cert', first.certFile, '--key', first.keyFile]);
    expect(r.status, r.body).toBe(200);
    const certFile = join(work, 'cam2-renewed.pem');
    writeFileSync(certFile, pkcs7Certs(work, r.body));
    expect(opensslVerify(t, certFile)).toMatch(/: OK/);
    const renewed = new X509Certificate(readFileSync(certFile));
    expect(renewed.subjectAltName).toBe('DNS:cam2.devices.test');
    expect(renewed.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))).toBe(true);
    const serial = renewed.serialNumber.toLowerCase();
    expect(t.ca.store.lineage.get(serial)?.replaces).toBe(first.serial);
    const event = t.ca.store.audit.list({ target: serial }).find((e) => e.action === 'certificate.issued');
    expect(event?.details).toMatchObject({ replaces: first.serial });
  });
});
