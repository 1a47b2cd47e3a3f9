import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTooLarge, readFetchBody, readNodeBody } from '../../src/http/body-limit.ts';
import { createApp } from '../../src/http/plain-app.ts';
import { silentLogger } from '../../src/domain/log.ts';

/** OCSP-like: answered at once, on a connection that stays open (the rest of the body is read and dropped). */
const LIMIT = { maxBytes: 100 };
/** ACME-like: answered at once with Connection: close. */
const AT_ONCE = { maxBytes: 100 };

/** One body limit (src/http/body-limit.ts) for every listener: at the limit, one byte past it, and clients that go away. */
describe('readNodeBody', () => {
  let server: Server;
  let port: number;
  /** What each body read ended with, in order: "ok N", "too large" or "client gone". */
  const outcomes: string[] = [];

  beforeAll(async () => {
    // "/later" reads in the check phase, as the OCSP fast path does (the body is complete by then);
    // "/much-later" after a timer, by which time a client that went away at once is gone.
    server = createServer((req, res) => {
      const read = (r: IncomingMessage) =>
        readNodeBody(r, r.url === '/at-once' ? AT_ONCE : LIMIT).then(
          (b) => {
            outcomes.push(`ok ${b.length}`);
            res.end(`ok ${b.length}`);
          },
          (e: Error) => {
            outcomes.push(e instanceof BodyTooLarge ? 'too large' : 'client gone');
            if (e instanceof BodyTooLarge) res.writeHead(413, r.url === '/at-once' ? { Connection: 'close' } : {}).end('too large');
          },
        );
      if (req.url === '/later') setImmediate(read, req);
      else if (req.url === '/much-later') setTimeout(read, 30, req);
      else void read(req);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  /**
   * Writes `parts` on one connection, 10 ms apart, and resolves when `responses` responses came or
   * the connection closed, with the statuses and how many parts had been written by then.
   */
  function exchange(parts: string[], responses: number): Promise<{ statuses: number[]; closed: boolean; written: number }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      let written = 0;
      const statuses = () => [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]));
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (statuses().length === responses) {
          resolve({ statuses: statuses(), closed: false, written });
          socket.destroy();
        }
      });
      socket.on('close', () => resolve({ statuses: statuses(), closed: true, written }));
      socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
      void (async () => {
        for (const p of parts) {
          if (socket.destroyed) return;
          socket.write(p);
          written++;
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
    });
  }
  const head = (path: string, length: number | 'chunked') =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\n${length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}\r\n\r\n`;
  const chunk = (n: number) => `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`;

  it('ok/a body of exactly the limit is read whole, in one packet or trickled, now or in the check phase', async () => {
    for (const path of ['/now', '/later', '/at-once']) {
      expect((await exchange([head(path, 100) + 'x'.repeat(100)], 1)).statuses).toEqual([200]);
      expect((await exchange([head(path, 100), 'x'.repeat(40), 'x'.repeat(60)], 1)).statuses).toEqual([200]);
      expect((await exchange([head(path, 'chunked'), chunk(50), chunk(50), '0\r\n\r\n'], 1)).statuses).toEqual([200]);
    }
    expect(outcomes.splice(0)).toEqual(Array(9).fill('ok 100'));
  });

  it('fail/one byte past the limit is BodyTooLarge, declared or chunked, in every mode', async () => {
    for (const path of ['/now', '/later', '/at-once']) {
      expect((await exchange([head(path, 101) + 'x'.repeat(101)], 1)).statuses).toEqual([413]);
      expect((await exchange([head(path, 'chunked'), chunk(60), chunk(41), '0\r\n\r\n'], 1)).statuses).toEqual([413]);
    }
    expect(outcomes.splice(0)).toEqual(Array(6).fill('too large'));
  });

  it('fail/over the limit: answered, the rest of the body is read and dropped, and the connection serves the next request', async () => {
    for (const path of ['/now', '/later']) {
      const r = await exchange([head(path, 500), 'x'.repeat(200), 'x'.repeat(300) + head(path, 3) + 'abc'], 2);
      expect(r).toEqual({ statuses: [413, 200], closed: false, written: 3 });
    }
    expect(outcomes.splice(0)).toEqual(['too large', 'ok 3', 'too large', 'ok 3']);
  });

  it('regression/a client still sending far past the limit is answered, never cut off, and can send another request', async () => {
    const r = await exchange([head('/now', 50_000), 'x'.repeat(200), ...Array(49).fill('x'.repeat(1000)), 'x'.repeat(800) + head('/now', 2) + 'ok'], 2);
    expect([r.statuses, r.closed]).toEqual([[413, 200], false]);
    expect(outcomes.splice(0)).toEqual(['too large', 'ok 2']);
  });

  it('fail/at once: past the limit the answer comes before the client has sent the rest', async () => {
    const r = await exchange([head('/at-once', 500), 'x'.repeat(200), 'x'.repeat(300)], 1);
    expect([r.statuses, r.written]).toEqual([[413], 2]);
    expect(outcomes.splice(0)).toEqual(['too large']);
  });

  it('fail/a client that goes away mid-body rejects the read (nothing waits forever) and the listener keeps serving', async () => {
    for (const path of ['/now', '/later', '/much-later', '/at-once']) {
      await new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.write(head(path, 100) + 'x'.repeat(30));
          setTimeout(() => {
            s.destroy();
            resolve();
          }, path === '/now' ? 20 : 0);
        });
      });
    }
    await new Promise((r) => setTimeout(r, 80));
    expect(outcomes.splice(0)).toEqual(Array(4).fill('client gone'));
    expect((await exchange([head('/now', 2) + 'ok'], 1)).statuses).toEqual([200]);
    expect(outcomes.splice(0)).toEqual(['ok 2']);
  });
});

describe('readFetchBody and the Hono middleware', () => {
  const stream = (n: number) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(n - 1).fill(0x78));
        c.enqueue(new Uint8Array([0x78]));
        c.close();
      },
    });
  const post = (body: BodyInit) => new Request('http://x/', { method: 'POST', body, duplex: 'half' } as RequestInit);
  /** As node:http hands it on: a declared length the parser holds the body to. */
  const declared = (n: number) => new Request('http://x/', { method: 'POST', body: 'x'.repeat(n), headers: { 'Content-Length': String(n) } });

  it('ok/at the limit a body is read whole; one byte more is BodyTooLarge, with or without a declared length', async () => {
    expect((await readFetchBody(post('x'.repeat(100)), LIMIT)).length).toBe(100);
    expect((await readFetchBody(declared(100), LIMIT)).length).toBe(100);
    await expect(readFetchBody(declared(101), LIMIT)).rejects.toBeInstanceOf(BodyTooLarge);
    expect((await readFetchBody(post(stream(100)), LIMIT)).length).toBe(100);
    expect((await readFetchBody(new Request('http://x/'), LIMIT)).length).toBe(0);
    await expect(readFetchBody(post('x'.repeat(101)), LIMIT)).rejects.toBeInstanceOf(BodyTooLarge);
    await expect(readFetchBody(post(stream(101)), LIMIT)).rejects.toBeInstanceOf(BodyTooLarge);
  });

  it('ok/the plain-HTTP app answers 413 text past its limit and lets a body at the limit through to the routes', async () => {
    const app = createApp({ logger: silentLogger, certificates: { rootDer: new Uint8Array(), intermediateDer: new Uint8Array(), rootPem: '', intermediatePem: '' }, maxBodyBytes: 100 });
    const send = async (body: BodyInit | Request) => {
      const r = await app.request(body instanceof Request ? body : post(body));
      return [r.status, await r.text()];
    };
    expect(await send('x'.repeat(100))).toEqual([404, 'not found\n']);
    expect(await send(stream(100))).toEqual([404, 'not found\n']);
    expect(await send('x'.repeat(101))).toEqual([413, 'request body too large\n']);
    expect(await send(declared(100))).toEqual([404, 'not found\n']);
    expect(await send(declared(101))).toEqual([413, 'request body too large\n']);
    expect(await send(stream(101))).toEqual([413, 'request body too large\n']);
  });
});
