import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as asn1X509 from '@peculiar/asn1-x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, silentLogger, type CaInstance, type RunningServer } from '../../src/index.ts';
import { createTestCa, makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';
import { derOid, derTlv, serialContents } from '../../src/domain/der.ts';
import { parseOcspRequest } from '../../src/status/ocsp-request.ts';
import { runAsync as runStatus } from '../helpers/run-async.ts';

const HAVE_OPENSSL = hasTool('openssl');
const MALFORMED = Buffer.from('30030a0101', 'hex');
const UNAUTHORIZED = Buffer.from('30030a0106', 'hex');

describe.runIf(HAVE_OPENSSL)('OCSP responder against openssl ocsp', () => { // skips only locally: hasTool() throws when CI is set
  let ca: CaInstance;
  let server: RunningServer;
  let dir: string;
  let url: string;
  const leaf = (name: string) => join(dir, `${name}.pem`);

  beforeAll(async () => {
    ca = await createTestCa();
    server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: false, status: { pollIntervalMs: 100, crlRebuildDelayMs: 20 } });
    url = `${server.httpUrl}/ocsp`;
    dir = tempDir();
    writeFileSync(join(dir, 'root.pem'), ca.root.toString('pem') + '\n');
    writeFileSync(join(dir, 'intermediate.pem'), ca.intermediate.toString('pem') + '\n');
    for (const name of ['good', 'revoked', 'cli-revoked', 'get']) {
      const csr = await makeCsr({ cn: `${name}.example`, sans: [{ type: 'dns', value: `${name}.example` }] });
      const cert = await ca.authority.issue(csr.pem);
      writeFileSync(leaf(name), cert.pem);
      writeFileSync(join(dir, `${name}.serial`), cert.serial);
    }
  });
  afterAll(async () => {
    await server?.close();
    await ca?.close();
  });

  const ask = (cert: string, ...extra: string[]) =>
    runStatus('openssl', ['ocsp', '-timeout', '10', ...extra.filter((a) => a === '-sha256'), '-issuer', join(dir, 'intermediate.pem'), '-cert', cert, '-url', url, '-CAfile', join(dir, 'root.pem'), ...extra.filter((a) => a !== '-sha256')]);

  it('ok/POST without nonce: good, and the delegated responder signature verifies', async () => {
    const r = await ask(leaf('good'), '-no_nonce');
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/good\.pem: good/);
    expect(r.stdout).toMatch(/This Update: .*\n\s+Next Update: /);
    expect(r.status).toBe(0);
  });

  it('ok/POST with a nonce: the nonce comes back signed', async () => {
    const r = await ask(leaf('good'), '-resp_text');
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stderr).not.toMatch(/nonce/i);
    expect(r.stdout).toMatch(/OCSP Nonce/);
    expect(r.stdout).toMatch(/good\.pem: good/);
  });

  it('ok/the response is signed by a delegated OCSP signing certificate (EKU OCSPSigning, ocsp-nocheck)', async () => {
    const r = await ask(leaf('good'), '-no_nonce', '-resp_text');
    expect(r.stdout).toMatch(/Responder Id: [0-9A-F]{40}/);
    expect(r.stdout).toMatch(/OCSP Signing/);
    expect(r.stdout).toMatch(/OCSP No Check/);
    expect(r.stdout).toMatch(/OCSP Responder/);
  });

  it('ok/SHA-256 CertIDs are answered too (signed on demand)', async () => {
    const r = await ask(leaf('good'), '-sha256', '-no_nonce');
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/good\.pem: good/);
  });

  it('ok/revoked with time and reason after Authority.revoke', async () => {
    await ca.authority.revoke(readSerial('revoked'), { reason: 'keyCompromise' });
    const r = await ask(leaf('revoked'), '-no_nonce');
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/revoked\.pem: revoked/);
    expect(r.stdout).toMatch(/Reason: keyCompromise/);
    expect(r.stdout).toMatch(/Revocation Time: /);
  });

  it('ok/revoked after `pki revoke` in another process (the server notices within seconds)', async () => {
    const first = pki(['revoke', '--dir', ca.dir, '--cert', leaf('cli-revoked'), '--reason', 'superseded'], { PKI_PASSPHRASE: TEST_PASSPHRASE });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^revoked [0-9a-f]+ at /);
    let out = '';
    for (let i = 0; i < 50 && !/cli-revoked\.pem: revoked/.test(out); i++) {
      await new Promise((r) => setTimeout(r, 100));
      out = (await ask(leaf('cli-revoked'), '-no_nonce')).stdout;
    }
    expect(out).toMatch(/cli-revoked\.pem: revoked/);
    expect(out).toMatch(/Reason: superseded/);
    const again = pki(['revoke', '--dir', ca.dir, '--serial', readSerial('cli-revoked')], { PKI_PASSPHRASE: TEST_PASSPHRASE });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already revoked/);
  });

  it('ok/unknown for a serial this CA never issued', async () => {
    const r = await runStatus('openssl', ['ocsp', '-timeout', '10', '-issuer', join(dir, 'intermediate.pem'), '-serial', '0x4a11ce0000000000000000000000beef', '-url', url, '-CAfile', join(dir, 'root.pem'), '-no_nonce']);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/0x4A11CE0000000000000000000000BEEF: unknown/i);
  });

  it('ok/GET with the url-encoded base64 request; RFC 5019 caching headers', async () => {
    const req = join(dir, 'get.req');
    expect((await runStatus('openssl', ['ocsp', '-issuer', join(dir, 'intermediate.pem'), '-cert', leaf('get'), '-no_nonce', '-reqout', req])).status).toBe(0);
    const der = readFileSync(req);
    const res = await fetch(`${url}/${encodeURIComponent(der.toString('base64'))}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(res.headers.get('etag')).toMatch(/^".+"$/);
    expect(new Date(res.headers.get('last-modified')!).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(res.headers.get('expires')!).getTime()).toBeGreaterThan(Date.now());
    const resp = join(dir, 'get.resp');
    writeFileSync(resp, Buffer.from(await res.arrayBuffer()));
    const r = await runStatus('openssl', ['ocsp', '-respin', resp, '-reqin', req, '-issuer', join(dir, 'intermediate.pem'), '-cert', leaf('get'), '-CAfile', join(dir, 'root.pem')]);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/get\.pem: good/);
    // Asked again (now from the raw-request cache): the same bytes.
    const again = await fetch(`${url}/${encodeURIComponent(der.toString('base64'))}`);
    expect(Buffer.from(await again.arrayBuffer()).equals(readFileSync(resp))).toBe(true);
  });

  it('ok/GET with a nonce: answered with that nonce', async () => {
    const req = join(dir, 'get-nonce.req');
    expect((await runStatus('openssl', ['ocsp', '-issuer', join(dir, 'intermediate.pem'), '-cert', leaf('get'), '-reqout', req])).status).toBe(0);
    const der = readFileSync(req);
    const res = await fetch(`${url}/${encodeURIComponent(der.toString('base64'))}`);
    const resp = join(dir, 'get-nonce.resp');
    writeFileSync(resp, Buffer.from(await res.arrayBuffer()));
    // Only -reqin (no -cert, which would make openssl build a fresh request with a fresh nonce): the nonce is checked.
    const r = await runStatus('openssl', ['ocsp', '-respin', resp, '-reqin', req, '-verify_other', join(dir, 'intermediate.pem'), '-CAfile', join(dir, 'root.pem'), '-resp_text']);
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stderr).not.toMatch(/nonce/i);
    expect(r.stdout).toMatch(/OCSP Nonce/);
    expect(r.stdout).toMatch(/Cert Status: good/);
  });

  it('fail/another issuer: unauthorized', async () => {
    const r = await runStatus('openssl', ['ocsp', '-timeout', '10', '-issuer', join(dir, 'root.pem'), '-serial', '0x1234', '-url', url, '-no_nonce']);
    expect(r.stdout + r.stderr).toMatch(/unauthorized \(6\)/);
  });

  describe('bad input never gets a 5xx and the server keeps serving', () => {
    const post = async (body: Uint8Array) => {
      const res = await fetch(url, { method: 'POST', body: new Uint8Array(body), headers: { 'Content-Type': 'application/ocsp-request' } });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    };
    const sha1Request = (p: { nonce?: Uint8Array; hashOid?: string }) => {
      const id = new ocsp.CertID({
        hashAlgorithm: new asn1X509.AlgorithmIdentifier({ algorithm: p.hashOid ?? '1.3.14.3.2.26', parameters: null }),
        issuerNameHash: new OctetString(new Uint8Array(20)),
        issuerKeyHash: new OctetString(new Uint8Array(20)),
        serialNumber: Uint8Array.of(0x01, 0x02).buffer,
      });
      const tbs = new ocsp.TBSRequest({ requestList: [new ocsp.Request({ reqCert: id })] });
      if (p.nonce) tbs.requestExtensions = [new asn1X509.Extension({ extnID: ocsp.id_pkix_ocsp_nonce, extnValue: new OctetString(AsnConvert.serialize(new OctetString(p.nonce))) })];
      return new Uint8Array(AsnConvert.serialize(new ocsp.OCSPRequest({ tbsRequest: tbs })));
    };

    it('fail/garbage POST body: malformedRequest', async () => {
      for (const body of [Buffer.from('hello'), Buffer.alloc(0), Buffer.from('3080', 'hex'), Buffer.from('30ffffffff', 'hex'), Buffer.alloc(20000, 0x30)]) {
        const r = await post(body);
        expect(r.status).toBe(200);
        expect(r.body.equals(MALFORMED)).toBe(true);
      }
    });

    it('fail/bad base64 in GET: malformedRequest', async () => {
      for (const path of ['!!!!', '%zz', 'AAAA%', 'YWJj===', 'a', '']) {
        const res = await fetch(`${url}/${path}`);
        expect(res.status).toBeLessThan(500);
        if (path !== '') expect(Buffer.from(await res.arrayBuffer()).equals(MALFORMED)).toBe(true);
      }
    });

    it('fail/nonce over 32 octets: malformedRequest (RFC 8954); 32 is fine', async () => {
      const real = readFileSync(join(dir, 'get-nonce.req'));
      const parsed = AsnConvert.parse(real, ocsp.OCSPRequest);
      const withNonce = (n: number) => {
        parsed.tbsRequest.requestExtensions = [new asn1X509.Extension({ extnID: ocsp.id_pkix_ocsp_nonce, extnValue: new OctetString(AsnConvert.serialize(new OctetString(new Uint8Array(n).fill(7)))) })];
        return new Uint8Array(AsnConvert.serialize(parsed));
      };
      expect((await post(withNonce(33))).body.equals(MALFORMED)).toBe(true);
      const ok = await post(withNonce(32));
      expect(ok.body[4]).toBe(0x0a); // successful response status follows
      expect(ok.body.length).toBeGreaterThan(100);
    });

    it('fail/unknown hash algorithm (MD5) or another issuer: unauthorized', async () => {
      expect((await post(sha1Request({ hashOid: '1.2.840.113549.2.5' }))).body.equals(UNAUTHORIZED)).toBe(true);
      expect((await post(sha1Request({}))).body.equals(UNAUTHORIZED)).toBe(true);
    });

    it('regression/a request of another valid encoding: CertID and nonce echoed byte for byte, unknown non-critical extensions ignored; openssl verifies it', async () => {
      const req = join(dir, 'plain.req');
      expect((await runStatus('openssl', ['ocsp', '-issuer', join(dir, 'intermediate.pem'), '-cert', leaf('good'), '-no_nonce', '-reqout', req])).status).toBe(0);
      const openssl = parseOcspRequest(readFileSync(req))!.certs[0]!;
      // The same CertID with SHA-1's parameters left out (as RFC 5754 allows), a pre-RFC 8954 bare nonce,
      // a requestorName and a service-locator-like single-request extension nobody here understands.
      const certId = derTlv(0x30, derTlv(0x30, derOid('1.3.14.3.2.26')), derTlv(0x04, openssl.issuerNameHash), derTlv(0x04, openssl.issuerKeyHash), derTlv(0x02, serialContents(openssl.serial!)));
      const ext = (oid: string, value: Uint8Array, critical = false) => derTlv(0x30, derOid(oid), ...(critical ? [Uint8Array.of(1, 1, 0xff)] : []), derTlv(0x04, value));
      const nonce = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
      const build = (single: Uint8Array) =>
        derTlv(0x30, derTlv(0x30, derTlv(0xa1, derTlv(0x82, Buffer.from('client.example'))), derTlv(0x30, derTlv(0x30, certId, derTlv(0xa0, derTlv(0x30, single)))), derTlv(0xa2, derTlv(0x30, ext('1.3.6.1.5.5.7.48.1.2', nonce)))));
      const mine = build(ext('1.2.3.4.5', Uint8Array.of(0x30, 0x00)));
      writeFileSync(join(dir, 'mine.req'), mine);
      const r = await post(mine);
      writeFileSync(join(dir, 'mine.resp'), r.body);
      const basic = AsnConvert.parse(AsnConvert.parse(r.body, ocsp.OCSPResponse).responseBytes!.response.buffer, ocsp.BasicOCSPResponse);
      const single = basic.tbsResponseData.responses[0]!;
      expect(Buffer.from(AsnConvert.serialize(single.certID)).equals(Buffer.from(certId))).toBe(true); // asn1js keeps a CertID without parameters as it was
      expect(r.body.includes(Buffer.from(certId))).toBe(true);
      expect(Buffer.from(basic.tbsResponseData.responseExtensions![0]!.extnValue.buffer).equals(nonce)).toBe(true);
      const v = await runStatus('openssl', ['ocsp', '-respin', join(dir, 'mine.resp'), '-reqin', join(dir, 'mine.req'), '-verify_other', join(dir, 'intermediate.pem'), '-CAfile', join(dir, 'root.pem'), '-resp_text']);
      expect(v.stderr).toContain('Response verify OK');
      expect(v.stderr).not.toMatch(/nonce/i);
      expect(v.stdout).toMatch(/Cert Status: good/);
      // The same with the unknown extension marked critical: refused (RFC 6960 §4.4 → RFC 5280 §4.2).
      expect((await post(build(ext('1.2.3.4.5', Uint8Array.of(0x30, 0x00), true)))).body.equals(MALFORMED)).toBe(true);
    });

    it('ok/openssl -nonce: the nonce comes back as sent and openssl checks it', async () => {
      const req = join(dir, 'nonce.req');
      expect((await runStatus('openssl', ['ocsp', '-issuer', join(dir, 'intermediate.pem'), '-cert', leaf('good'), '-nonce', '-reqout', req])).status).toBe(0);
      const sent = parseOcspRequest(readFileSync(req))!;
      const r = await post(readFileSync(req));
      const basic = AsnConvert.parse(AsnConvert.parse(r.body, ocsp.OCSPResponse).responseBytes!.response.buffer, ocsp.BasicOCSPResponse);
      expect(Buffer.from(basic.tbsResponseData.responseExtensions![0]!.extnValue.buffer).equals(Buffer.from(sent.nonceExtnValue!))).toBe(true);
      expect(r.body.includes(Buffer.from(sent.certs[0]!.certIdDer))).toBe(true);
    });

    it('ok/still serving afterwards', async () => {
      expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
      expect((await ask(leaf('good'), '-no_nonce')).stdout).toMatch(/good\.pem: good/);
    });
  });

  function readSerial(name: string): string {
    return readFileSync(join(dir, `${name}.serial`), 'utf8');
  }
});
