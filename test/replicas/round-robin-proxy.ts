import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP load balancer for replica tests: each new connection goes to the next backend in
 * turn (TLS passes through to the replica), and a backend that refuses the connection (a replica
 * killed) is skipped for the next one, as a balancer's health check would.
 */
export async function startRoundRobinProxy(backends: () => number[]): Promise<{ port: number; connections: number[]; close(): Promise<void> }> {
  let next = 0;
  const connections: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const ports = backends();
    const attempt = (tries: number): void => {
      if (tries >= ports.length) return void client.destroy();
      const index = next++ % ports.length;
      const upstream = connect(ports[index]!, '127.0.0.1');
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        connections[index] = (connections[index] ?? 0) + 1;
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        client.pipe(upstream).pipe(client);
        client.resume();
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.once('error', () => {
        if (!connected) attempt(tries + 1);
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
