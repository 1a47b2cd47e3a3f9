import type { IncomingMessage, RequestListener, Server, ServerOptions } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import { CaError } from '../domain/errors.ts';

/** How long a client may take to send one request (pki.json `http`, src/config/http.ts). */
export interface RequestTimeouts {
  /** The whole request, headers and body. */
  requestMs: number;
  headersMs: number;
}

/**
 * node:http (and node:https) options that cut off a request not received within its time, body
 * included: Node answers 408 and closes the connection. Node looks at open connections every
 * `connectionsCheckingInterval` (30 s by default, which would double a 30 s limit), so the
 * check runs at a quarter of the limit (0.1 to 1 s).
 */
export function timeoutOptions(t: RequestTimeouts): Pick<ServerOptions, 'requestTimeout' | 'headersTimeout' | 'connectionsCheckingInterval'> {
  return {
    requestTimeout: t.requestMs,
    headersTimeout: headersLimitMs(t),
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(t.requestMs / 4))),
  };
}

/**
 * A connection must begin its first request within the headers limit. Node's headersTimeout
 * counts from a request's first byte, so a connection that sent nothing (over TLS: nothing after
 * the handshake) was held open for good, and enough of them use up the process's descriptors.
 * Silent for that long → closed; from its first request on, Node's own limits apply
 * (headersTimeout and requestTimeout while it arrives, keepAliveTimeout between requests).
 * `tls`: the raw connection's handshake has the same limit (the https server's handshakeTimeout),
 * and the wait for a request starts once it is done.
 */
export function closeSilentConnections(server: NetServer, t: RequestTimeouts, o: { tls?: boolean } = {}): void {
  const ms = headersLimitMs(t);
  // A socket 'timeout' with no request under way makes node:http destroy the socket.
  server.on(o.tls ? 'secureConnection' : 'connection', (socket: Socket) => socket.setTimeout(ms));
  // Node refreshes the timer on every byte it parses; once a request is in, its own limits take over
  // (the check keeps later requests on the connection, OCSP's hot path among them, to a property read).
  server.on('request', (req: IncomingMessage) => req.socket.timeout && req.socket.setTimeout(0));
}

/** How long a request's headers may take (never past the whole request's limit: Node refuses that); a TLS handshake gets as long. */
export const headersLimitMs = (t: RequestTimeouts): number => Math.min(t.headersMs, t.requestMs);

/**
 * Whether a listener takes requests: not while it starts (its socket is bound before anything is
 * signed, so a busy port fails the start first) and not once it stops. A request refused gets
 * 503 and its connection closed; requests let in before stay untouched and finish.
 */
export class ListenerGate {
  #state: 'starting' | 'open' | 'closing' = 'starting';

  open(): void {
    if (this.#state === 'starting') this.#state = 'open';
  }

  close(): void {
    this.#state = 'closing';
  }

  guard(next: RequestListener): RequestListener {
    return (req, res) => {
      if (this.#state === 'open') return next(req, res);
      res.shouldKeepAlive = false;
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '1', Connection: 'close' });
      res.end(this.#state === 'starting' ? 'starting\n' : 'shutting down\n');
      req.resume();
    };
  }
}

/** Binds a server, or fails with a CaError naming the address and the listener. */
export function listenOn(server: NetServer, port: number, host: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => reject(new CaError('config', `cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port} (${what}): ${e.code ?? e.message}`, { cause: e }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Stops a server: no new connection from the moment this is called; requests under way finish
 * (idle keep-alive connections are closed as they become idle) for up to `graceMs`, after which
 * the connections left are cut. Resolves once every connection is gone.
 */
export function drainServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
