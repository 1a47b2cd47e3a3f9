import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renewDelayMs } from '../../src/http/acme-https/tls-certificate.ts';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { x509 } from '../../src/x509/x509.ts';
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

  it('fail/clients that send half a body and go away do not take the listener down', async () => {
    const url = new URL(server.acme!.directoryUrl.replace('/directory', '/new-account'));
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: Number(url.port), ca: ca.root.toString('pem'), servername: 'localhost' }, () => {
          s.write(`POST ${url.pathname} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/jose+json\r\nContent-Length: 1000\r\n\r\n{"protected":`);
          setTimeout(() => {
            s.destroy();
            resolve();
          }, i * 5);
        });
      });
    }
    const r = await new Promise<number>((resolve, reject) => request(server.acme!.directoryUrl, { ca: ca.root.toString('pem') }, (res) => resolve(res.resume().statusCode!)).on('error', reject).end());
    expect(r).toBe(200);
  });

  it('fail/over real HTTPS: the route table answers odd paths and methods with the right status, never 5xx', async () => {
    const origin = new URL(server.acme!.directoryUrl).origin;
    const send = (method: string, path: string, contentType?: string) =>
      new Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
        const req = request(`${origin}${path}`, { method, ca: ca.root.toString('pem'), headers: contentType ? { 'Content-Type': contentType } : {} }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
        });
        req.on('error', reject);
        req.end(method === 'POST' ? '{}' : undefined);
      });
    const jose = 'application/jose+json';
    const cases = [
      await send('GET', '/acme/directory?x=1'),
      await send('HEAD', '/acme/directory'),
      await send('GET', '/acme/new-nonce'),
      await send('POST', '/acme/constructor', jose),
      await send('POST', '/acme/__proto__', jose),
      await send('POST', '/acme/order/abc/finalize/more', jose),
      await send('POST', '/acme/directory', jose),
      await send('PUT', '/acme/directory'),
      await send('GET', '/acme/order/abc'),
      await send('POST', '/acme/order/abc', 'text/plain'),
      await send('GET', '/ca/root.pem'),
      await send('GET', '/ca/nothing'),
    ];
    expect(cases.map((c) => c.status)).toEqual([200, 200, 204, 404, 404, 404, 404, 404, 405, 415, 200, 404]);
    expect(JSON.parse(cases[0]!.body)).toHaveProperty('newOrder');
    expect(cases[1]!.body).toBe('');
    expect(cases[8]!.headers.allow).toBe('POST');
    expect(cases[10]!.body).toContain('BEGIN CERTIFICATE');
    expect(cases[10]!.headers['cache-control']).toBe('public, max-age=3600');
    for (const c of cases) expect(c.headers['replay-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const c of cases.filter((x) => x.status >= 400)) expect(c.headers['content-type']).toBe('application/problem+json');
  });

  it('ok/a keep-alive client reuses its connection after HEAD newNonce (every response but 204 has a Content-Length)', async () => {
    const dir = server.acme!.directoryUrl;
    const nonce = dir.replace('/directory', '/new-nonce');
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.root.toString('pem') });
    const send = (method: string, url: string) =>
      new Promise<{ status: number; reused: boolean; length: string | undefined }>((resolve, reject) => {
        const req = request(url, { method, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, length: res.headers['content-length'] }));
        });
        req.on('error', reject);
        req.end();
      });
    const seen = [await send('GET', dir), await send('HEAD', nonce), await send('GET', dir), await send('GET', nonce), await send('GET', dir)];
    agent.destroy();
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 204, 200]);
    expect(seen.map((r) => r.reused)).toEqual([false, true, true, true, true]);
    expect(seen[1]!.length).toBe('0');
    expect(seen[3]!.length).toBeUndefined();
  });
});
