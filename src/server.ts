import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from './http/app.ts';
import type { CaInstance } from './instance/open.ts';
import type { Logger } from './log.ts';

export interface RunningServer {
  /** Base URL of the plain-HTTP listener, e.g. http://127.0.0.1:9080 */
  httpUrl: string;
  close(): Promise<void>;
}

/** Serves an opened instance; `port` 0 picks a free port (tests). */
export async function startServer(ca: CaInstance, o: { host: string; port: number; logger: Logger }): Promise<RunningServer> {
  const app = createApp({
    logger: o.logger,
    certificates: {
      rootDer: new Uint8Array(ca.root.rawData),
      intermediateDer: new Uint8Array(ca.intermediate.rawData),
      rootPem: ca.root.toString('pem') + '\n',
      intermediatePem: ca.intermediate.toString('pem') + '\n',
    },
  });
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: o.host, port: o.port }, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    httpUrl: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        (server as import('node:http').Server).closeIdleConnections?.();
      }),
  };
}
