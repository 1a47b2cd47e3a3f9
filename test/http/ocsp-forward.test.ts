import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardTo } from '../../src/http/ocsp/workers/forward.ts';

/** An OCSP worker's relay to the primary (http/ocsp/workers/forward.ts), against a stand-in primary. */
const servers: Server[] = [];
const listen = (s: Server) =>
  new Promise<number>((r) => {
    servers.push(s);
    s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port));
  });
afterEach(() => {
  for (const s of servers.splice(0)) s.closeAllConnections(), s.close();
});

/** GET through the relay: the status and body, or the error the client saw. */
function get(port: number): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/crl/x/0.crl', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', (e) => resolve({ status: res.statusCode, error: e.message }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
    req.setTimeout(5_000, () => resolve({ error: 'no answer within 5 s' }));
    req.end();
  });
}

describe('OCSP worker relay', () => {
  it('ok/relays status, headers and body', async () => {
    const primary = await listen(createServer((_q, r) => r.writeHead(201, { 'X-From': 'primary' }).end('whole')));
    const worker = await listen(createServer(forwardTo(primary)));
    expect(await get(worker)).toEqual({ status: 201, body: 'whole' });
  });

  it('bad/an answer cut off midway cuts the client off at once, never leaves it waiting', async () => {
    const primary = await listen(
      createServer((_q, r) => {
        r.writeHead(200, { 'Content-Length': '100' });
        r.write('partial');
        setTimeout(() => r.socket?.destroy(), 50);
      }),
    );
    const worker = await listen(createServer(forwardTo(primary)));
    const got = await get(worker);
    expect(got.error).toBeDefined();
    expect(got.error).not.toBe('no answer within 5 s');
  });

  it('bad/a primary that is down is a 502', async () => {
    const gone = await listen(createServer());
    servers.pop()!.close();
    const worker = await listen(createServer(forwardTo(gone)));
    expect((await get(worker)).status).toBe(502);
  });
});
