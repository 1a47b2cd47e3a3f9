import { request } from 'node:https';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renewDelayMs } from '../../src/http/acme/tls-certificate.ts';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { x509 } from '../../src/signer/x509.ts';
import { createTestCa } from '../helpers/ca.ts';

/** The ACME listener's own certificate: issued by our intermediate for the configured names, renewed two thirds in. */
let ca: CaInstance;
let server: RunningServer;
beforeAll(async () => {
  ca = await createTestCa();
  server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: { hostnames: ['localhost', '127.0.0.1', 'acme.internal'] } });
});
afterAll(async () => {
  await server?.close();
  await ca?.close();
});

describe('ACME TLS listener', () => {
  it('ok/serves a chain to our root naming the configured hostnames, and the directory over it', async () => {
    const url = new URL(server.acme!.directoryUrl);
    const chain = await new Promise<{ authorized: boolean; sans: string[] }>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: Number(url.port), ca: ca.root.toString('pem'), servername: 'acme.internal' }, () => {
        const leaf = new x509.X509Certificate(new Uint8Array(s.getPeerX509Certificate()!.raw));
        const sans = leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => `${n.type}:${n.value}`).sort();
        resolve({ authorized: s.authorized, sans });
        s.end();
      });
      s.on('error', reject);
    });
    expect(chain).toEqual({ authorized: true, sans: ['dns:acme.internal', 'dns:localhost', 'ip:127.0.0.1'] });
    expect(server.acme!.directoryUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/acme\/directory$/);
  });

  it('ok/renewal is scheduled two thirds into the lifetime, never sooner than a minute', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const cert = { keyPem: '', chainPem: '', notBefore, notAfter: new Date(notBefore.getTime() + 24 * 3_600_000) };
    expect(renewDelayMs(cert, notBefore)).toBe(16 * 3_600_000);
    expect(renewDelayMs(cert, new Date(notBefore.getTime() + 20 * 3_600_000))).toBe(60_000);
  });

  it('fail/over real HTTPS: oversized bodies (with and without Content-Length) → 413, junk → 400, never 5xx', async () => {
    const url = new URL(server.acme!.directoryUrl.replace('/directory', '/new-account'));
    const post = (body: string, chunked: boolean) =>
      new Promise<{ status: number; type: string; nonce: boolean }>((resolve, reject) => {
        const headers: Record<string, string> = { 'Content-Type': 'application/jose+json', ...(chunked ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }) }; // no length: Node sends it chunked
        const req = request(url, { method: 'POST', ca: ca.root.toString('pem'), headers }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, type: (JSON.parse(text) as { type: string }).type, nonce: typeof res.headers['replay-nonce'] === 'string' }));
        });
        req.on('error', reject);
        if (chunked) for (let i = 0; i < body.length; i += 16_384) req.write(body.slice(i, i + 16_384));
        req.end(chunked ? undefined : body);
      });
    const big = 'x'.repeat(200 * 1024);
    expect(await post(big, false)).toMatchObject({ status: 413, nonce: true });
    expect(await post(big, true)).toMatchObject({ status: 413, nonce: true });
    expect(await post('{"protected":', true)).toMatchObject({ status: 400, type: 'urn:ietf:params:acme:error:malformed' });
  });
});
