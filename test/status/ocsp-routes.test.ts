import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/plain-app.ts';
import { OcspHttpHandler } from '../../src/http/ocsp/handler.ts';
import { silentLogger, type CaInstance } from '../../src/index.ts';
import { startStatusService } from '../../src/instance/start-status.ts';
import type { StatusService } from '../../src/status/status-service.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { ocspRequestDer } from '../helpers/ocsp-request.ts';

/** The OCSP and CRL routes as mounted on the Hono app (where the node:http fast path is not in front). */
describe('OCSP and CRL routes on the Hono app', () => {
  let ca: CaInstance;
  let status: StatusService;
  let app: ReturnType<typeof createApp>;
  const serials: string[] = [];

  beforeAll(async () => {
    ca = await createTestCa();
    status = await startStatusService(ca, silentLogger, { maxCertsPerRequest: 3 });
    const handler = new OcspHttpHandler({ responder: status.responderLogic, cache: status.cache, clock: ca.clock });
    app = createApp({
      logger: silentLogger,
      certificates: { rootDer: new Uint8Array(), intermediateDer: new Uint8Array(), rootPem: '', intermediatePem: '' },
      ocsp: handler,
      crl: { issuerKeyId: ca.authority.issuer.keyId, current: (s) => status.crls.current(s) },
    });
    for (let i = 0; i < 4; i++) serials.push((await ca.authority.issue((await makeCsr({ cn: `r${i}.example`, sans: [{ type: 'dns', value: `r${i}.example` }] })).pem)).serial);
  });
  afterAll(async () => {
    status?.stop();
    await ca?.close();
  });

  const request = (count: number) => ocspRequestDer(new Uint8Array(ca.intermediate.rawData), serials.slice(0, count));
  const basic = (body: ArrayBuffer) => {
    const r = AsnConvert.parse(body, ocsp.OCSPResponse);
    expect(r.responseStatus).toBe(ocsp.OCSPResponseStatus.successful);
    return AsnConvert.parse(r.responseBytes!.response, ocsp.BasicOCSPResponse);
  };

  it('ok/GET and POST answer the same pre-signed response with RFC 5019 headers', async () => {
    const der = request(1);
    const get = await app.request(`/ocsp/${encodeURIComponent(Buffer.from(der).toString('base64'))}`);
    const post = await app.request('/ocsp', { method: 'POST', body: der, headers: { 'Content-Type': 'application/ocsp-request' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/ocsp-response');
    expect(get.headers.get('cache-control')).toMatch(/^max-age=\d+, public, no-transform, must-revalidate$/);
    expect(get.headers.get('etag')).toBe(post.headers.get('etag'));
    const a = Buffer.from(await get.arrayBuffer());
    expect(a.equals(Buffer.from(await post.arrayBuffer()))).toBe(true);
    expect(basic(a.buffer.slice(a.byteOffset, a.byteOffset + a.length)).tbsResponseData.responses[0]!.certStatus.good).toBeNull();
  });

  it('ok/several certificates in one request are answered together, signed on demand, not cached', async () => {
    const res = await app.request('/ocsp', { method: 'POST', body: request(3) });
    expect(res.headers.get('cache-control')).toBe('no-store');
    const b = basic(await res.arrayBuffer());
    expect(b.tbsResponseData.responses).toHaveLength(3);
    expect(b.tbsResponseData.responses.every((r) => r.certStatus.good === null)).toBe(true);
  });

  it('fail/more certificates than ocsp.maxCertsPerRequest: malformedRequest', async () => {
    const res = await app.request('/ocsp', { method: 'POST', body: request(4) });
    expect(Buffer.from(await res.arrayBuffer()).toString('hex')).toBe('30030a0101');
  });

  it('fail/a body past 8 KiB is malformedRequest; past the app limit of 64 KiB it is 413 text, unread', async () => {
    const junk = (n: number) => app.request('/ocsp', { method: 'POST', body: new Uint8Array(n).fill(0x30), headers: { 'Content-Length': String(n) } });
    const over = await junk(8 * 1024 + 1);
    expect([over.status, Buffer.from(await over.arrayBuffer()).toString('hex')]).toEqual([200, '30030a0101']);
    const far = await junk(64 * 1024 + 1);
    expect([far.status, await far.text()]).toEqual([413, 'request body too large\n']);
  });

  it('ok/the CRL shard as DER and PEM; a conditional GET with its ETag gets 304', async () => {
    const url = new URL(ca.authority.issuer.urls.crl(0)).pathname;
    const der = await app.request(url);
    expect(der.headers.get('content-type')).toBe('application/pkix-crl');
    const etag = der.headers.get('etag')!;
    expect((await app.request(url, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    const pem = await app.request(url.replace(/\.crl$/, '.pem'));
    expect(await pem.text()).toMatch(/^-----BEGIN X509 CRL-----/);
  });
});
