import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { createTestCa } from '../helpers/ca.ts';

/** Every listener holds a client to a time for its whole request (http.requestTimeout); here 1 s. */
let ca: CaInstance;
let server: RunningServer;
let workers: RunningServer;
beforeAll(async () => {
  ca = await createTestCa();
  ca.config.http = { ...ca.config.http, requestTimeout: '1s', headersTimeout: '1s' };
  server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger });
  workers = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: false, ocspWorkers: 1 });
}, 60_000);
afterAll(async () => {
  await workers?.close();
  await server?.close();
  await ca?.close();
});

/**
 * Sends `head`, then trickles `body` one byte every 200 ms; resolves with what came back and
 * when the server closed the connection (or null if it was still open after 6 s).
 */
function trickle(open: () => Socket, head: string, body: string): Promise<{ answer: string; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const s = open();
    const t0 = Date.now();
    let answer = '';
    let i = 0;
    const tick = setInterval(() => {
      if (i < body.length && !s.destroyed) s.write(body[i++]!);
    }, 200);
    const give = setTimeout(() => finish(null), 6_000);
    const finish = (closedAfterMs: number | null) => {
      clearInterval(tick);
      clearTimeout(give);
      s.destroy();
      resolve({ answer, closedAfterMs });
    };
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    s.on('error', () => undefined);
    s.once('close', () => finish(Date.now() - t0));
    s.write(head);
  });
}

const plain = (url: string) => () => netConnect(Number(new URL(url).port), '127.0.0.1');
const tls = (url: string) => () => tlsConnect({ host: '127.0.0.1', port: Number(new URL(url).port), rejectUnauthorized: false, servername: 'localhost' });
const post = (path: string, type: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: 200\r\n\r\n`;
const body = 'x'.repeat(200);

describe('slow requests are cut off on every listener', () => {
  const cases: [string, () => [() => Socket, string, string]][] = [
    ['plain HTTP, OCSP POST (node:http fast path)', () => [plain(server.httpUrl), post('/ocsp', 'application/ocsp-request'), body]],
    ['plain HTTP, headers trickled', () => [plain(server.httpUrl), 'GET /healthz HTTP/1.1\r\n', 'X-Slow: ' + 'y'.repeat(100)]],
    ['ACME over HTTPS, newAccount POST', () => [tls(server.acme!.directoryUrl), post('/acme/new-account', 'application/jose+json'), body]],
    ['ACME over HTTPS, headers trickled', () => [tls(server.acme!.directoryUrl), 'GET /acme/directory HTTP/1.1\r\n', 'X-Slow: ' + 'y'.repeat(100)]],
    ['OCSP worker process, OCSP POST', () => [plain(workers.httpUrl), post('/ocsp', 'application/ocsp-request'), body]],
  ];
  for (const [name, make] of cases) {
    it(`fail/${name}: closed within the limit (408 at most), not left open`, async () => {
      const r = await trickle(...make());
      expect(r.closedAfterMs, r.answer).not.toBeNull();
      expect(r.closedAfterMs!).toBeLessThan(3_500);
      if (r.answer) expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
    }, 15_000);
  }
});

/** Opens a connection and sends nothing; resolves with when the server closed it (null if still open after 6 s). */
function silent(open: () => Socket, after: 'connect' | 'secureConnect'): Promise<number | null> {
  return new Promise((resolve) => {
    const s = open();
    let t0 = Date.now();
    const give = setTimeout(() => (s.destroy(), resolve(null)), 6_000);
    s.once(after, () => (t0 = Date.now()));
    s.on('error', () => undefined);
    s.once('close', () => (clearTimeout(give), resolve(Date.now() - t0)));
  });
}

describe('silent connections are closed on every listener (descriptors are not held by clients that send nothing)', () => {
  const cases: [string, () => Promise<number | null>][] = [
    ['plain HTTP, nothing sent', () => silent(plain(server.httpUrl), 'connect')],
    ['OCSP worker process, nothing sent', () => silent(plain(workers.httpUrl), 'connect')],
    ['ACME over HTTPS, no TLS handshake', () => silent(plain(server.acme!.directoryUrl), 'connect')],
    ['ACME over HTTPS, handshake done, no request', () => silent(tls(server.acme!.directoryUrl), 'secureConnect')],
  ];
  for (const [name, run] of cases) {
    it(`fail/${name}: closed within the headers limit`, async () => {
      const closedAfterMs = await run();
      expect(closedAfterMs).not.toBeNull();
      expect(closedAfterMs!).toBeLessThan(3_500);
    }, 15_000);
  }

  it('ok/a keep-alive connection serves a second request after the first, within the limits', async () => {
    const s = plain(server.httpUrl)();
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    await new Promise((r) => s.once('connect', r));
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 600));
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise((r) => s.once('close', r));
    expect(got.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
  });
});
