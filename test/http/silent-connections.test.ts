import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSilentConnections, timeoutOptions } from '../../src/http/server-limits.ts';

/** closeSilentConnections (http/server-limits.ts) cuts silent connections only, never a request the server is still answering. */
const limits = { requestMs: 1_000, headersMs: 1_000 };
let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

describe('closeSilentConnections', () => {
  it('ok/a request whose answer takes longer than the silence limit is answered, not cut', async () => {
    server = createServer(timeoutOptions(limits), (_req, res) => setTimeout(() => res.end('late but whole'), 1_800));
    closeSilentConnections(server, limits);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const got = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(body));
        res.on('error', (e) => resolve(`error: ${e.message}`));
      });
      req.on('error', (e) => resolve(`error: ${e.message}`));
      req.end();
    });
    expect(got).toBe('late but whole');
  });
});
