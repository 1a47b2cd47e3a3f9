import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server on loopback that serves http-01 key authorizations set by the test. */
export async function startChallengeServer(): Promise<{ port: number; set(token: string, keyAuth: string, o?: { delayMs?: number }): void; remove(token: string): void; close(): Promise<void> }> {
  const tokens = new Map<string, string>();
  const delays = new Map<string, number>();
  const server = createServer((req, res) => {
    const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
    const body = m ? tokens.get(m[1]!) : undefined;
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const answer = () => res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(body);
    const delay = delays.get(m![1]!);
    if (delay) setTimeout(answer, delay);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    set: (t, k, o) => {
      tokens.set(t, k);
      if (o?.delayMs) delays.set(t, o.delayMs);
    },
    remove: (t) => void tokens.delete(t),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
