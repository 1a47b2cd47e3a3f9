import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAcmeProblem } from '../../src/acme/problems.ts';
import { Http01Validator } from '../../src/acme/validation/http-01.ts';
import { makeResolver } from '../../src/acme/validation/resolve.ts';
import { checkChallengeCertificate, OID_ACME_IDENTIFIER, reverseName } from '../../src/acme/validation/tls-alpn-01.ts';
import { keyAuthorizationDigest } from '../../src/acme/validation/validator.ts';
import { x509 } from '../../src/x509/x509.ts';
import { startDnsServer, type TestDnsServer } from './support/dns-server.ts';

/** The validators on their own: http-01 limits (RFC 8555 §8.3) and the tls-alpn-01 certificate rules (RFC 8737 §3). */
const KEYAUTH = 'tok.thumb';
let server: Server;
let port: number;
let dns: TestDnsServer;
let hops = 0;

beforeAll(async () => {
  dns = await startDnsServer();
  server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url.endsWith('/ok')) return void res.end(`${KEYAUTH}\n`);
    if (url.endsWith('/big')) return void res.end('x'.repeat(100_000));
    if (url.includes('/loop')) {
      hops++;
      return void res.writeHead(302, { Location: `/.well-known/acme-challenge/loop${hops}` }).end();
    }
    if (url.endsWith('/hop')) return void res.writeHead(301, { Location: `http://other.example.test:${port}/.well-known/acme-challenge/ok` }).end();
    if (url.endsWith('/slow')) return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await dns.close();
});

const validator = (timeoutMs = 2000) => new Http01Validator({ http01Port: port, tlsAlpn01Port: 0, dnsServer: dns.address, timeoutMs }, makeResolver(dns.address, timeoutMs));
const problemType = async (p: Promise<void>) => {
  try {
    await p;
    return 'valid';
  } catch (e) {
    if (!isAcmeProblem(e)) throw e;
    return e.type.replace('urn:ietf:params:acme:error:', '');
  }
};

describe('http-01', () => {
  it('ok/DNS name resolved through the configured server, trailing whitespace ignored, a redirect followed', async () => {
    expect(await problemType(validator().validate({ identifier: { type: 'dns', value: 'app.example.test' }, token: 'ok', keyAuthorization: KEYAUTH }))).toBe('valid');
    expect(await problemType(validator().validate({ identifier: { type: 'dns', value: 'app.example.test' }, token: 'hop', keyAuthorization: KEYAUTH }))).toBe('valid');
  });

  it('ok/IP identifier (RFC 8738)', async () => {
    expect(await problemType(validator().validate({ identifier: { type: 'ip', value: '127.0.0.1' }, token: 'ok', keyAuthorization: KEYAUTH }))).toBe('valid');
  });

  it('fail/more than 10 redirects → connection', async () => {
    hops = 0;
    expect(await problemType(validator().validate({ identifier: { type: 'ip', value: '127.0.0.1' }, token: 'loop', keyAuthorization: KEYAUTH }))).toBe('connection');
    expect(hops).toBe(11);
  });

  it('fail/oversized body, wrong body, 404, timeout', async () => {
    const v = validator(500);
    const id = { type: 'ip' as const, value: '127.0.0.1' };
    expect(await problemType(v.validate({ identifier: id, token: 'big', keyAuthorization: KEYAUTH }))).toBe('incorrectResponse');
    expect(await problemType(v.validate({ identifier: id, token: 'ok', keyAuthorization: 'other.thumb' }))).toBe('incorrectResponse');
    expect(await problemType(v.validate({ identifier: id, token: 'missing', keyAuthorization: KEYAUTH }))).toBe('unauthorized');
    const t0 = Date.now();
    expect(await problemType(v.validate({ identifier: id, token: 'slow', keyAuthorization: KEYAUTH }))).toBe('connection');
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('tls-alpn-01 certificate', () => {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  async function cert(o: { names: { type: 'dns' | 'ip'; value: string }[]; digest?: Buffer; critical?: boolean }) {
    const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
    const exts: x509.Extension[] = [new x509.SubjectAlternativeNameExtension(o.names)];
    if (o.digest) exts.push(new x509.Extension(OID_ACME_IDENTIFIER, o.critical ?? true, Buffer.concat([Buffer.from([0x04, 0x20]), o.digest])));
    const c = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=acme', keys, signingAlgorithm: alg, extensions: exts, notBefore: new Date(), notAfter: new Date(Date.now() + 3600_000) });
    return new Uint8Array(c.rawData);
  }
  const req = { identifier: { type: 'dns' as const, value: 'a.example.test' }, token: 't', keyAuthorization: KEYAUTH };
  const good = keyAuthorizationDigest(KEYAUTH);
  const check = (der: Uint8Array, r = req) => {
    try {
      checkChallengeCertificate(der, r);
      return 'valid';
    } catch (e) {
      return (e as { type: string }).type.replace('urn:ietf:params:acme:error:', '');
    }
  };

  it('ok/exactly the name and a critical acmeIdentifier with the digest', async () => {
    expect(check(await cert({ names: [{ type: 'dns', value: 'a.example.test' }], digest: good }))).toBe('valid');
    expect(check(await cert({ names: [{ type: 'ip', value: '10.0.0.1' }], digest: good }), { ...req, identifier: { type: 'ip' as never, value: '10.0.0.1' } })).toBe('valid');
  });

  it('fail/extra name, wrong digest, non-critical or missing extension', async () => {
    expect(check(await cert({ names: [{ type: 'dns', value: 'a.example.test' }, { type: 'dns', value: 'b.example.test' }], digest: good }))).toBe('incorrectResponse');
    expect(check(await cert({ names: [{ type: 'dns', value: 'a.example.test' }], digest: keyAuthorizationDigest('x') }))).toBe('incorrectResponse');
    expect(check(await cert({ names: [{ type: 'dns', value: 'a.example.test' }], digest: good, critical: false }))).toBe('incorrectResponse');
    expect(check(await cert({ names: [{ type: 'dns', value: 'a.example.test' }] }))).toBe('incorrectResponse');
  });

  it('ok/reverse names for IP SNI (RFC 8738 §6)', () => {
    expect(reverseName('10.1.2.3')).toBe('3.2.1.10.in-addr.arpa');
    expect(reverseName('2001:db8::1')).toBe(`1.0.0.0.${'0.'.repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa`);
  });
});
