import { createServer, type IncomingMessage, type RequestListener, type ServerOptions, type ServerResponse } from 'node:http';
import { answerClientError, BodyTooLarge, readNodeBody } from '../body-limit.ts';
import { closeSilentConnections, timeoutOptions, type ListenerGate, type RequestTimeouts } from '../server-limits.ts';
import type { OcspHttpHandler, OcspReply } from './handler.ts';
import { NotAnsweredHere, OCSP_BODY } from './handler.ts';

/** Where a request the handler cannot answer here goes (OCSP workers: the primary); `body` is the POST body already read. */
export type PassOn = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => void;

/**
 * A node:http request listener that answers OCSP itself and hands every other request to
 * `next` (the Hono app). OCSP is the one route relying parties hit at volume; going through
 * Hono's Request/Response adaptor costs ~15-25% of throughput (STACK-NOTES), so here a
 * repeated request is a Map lookup and one write, with no Web-API objects built.
 */
export function withOcspFastPath(handler: OcspHttpHandler, next: RequestListener, passOn?: PassOn): RequestListener {
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith('/ocsp')) return next(req, res);
    if (req.method === 'GET' && url.startsWith('/ocsp/')) {
      const q = url.indexOf('?');
      const raw = q === -1 ? url.slice(6) : url.slice(6, q);
      const r = attempt(res, () => handler.cachedGet(raw) ?? handler.get(raw));
      if (!r) return;
      // Answered in the check phase, after the parser has gone through everything the poll
      // phase read: under load one process then answers ~20% more GETs (docs/benchmarks.md).
      if (!(r instanceof Promise)) return void setImmediate(send, res, r);
      r.then((reply) => send(res, reply), (e: unknown) => (passOn && e instanceof NotAnsweredHere ? passOn(req, res) : failed(res)));
      return;
    }
    if (req.method === 'POST' && (url === '/ocsp' || url === '/ocsp/')) return readBody(req, res, handler, passOn);
    return next(req, res);
  };
}

/**
 * An OCSP POST is a few hundred bytes and nearly always arrives in the packet that carries its
 * headers; once Node's parser has finished that packet (by the next check phase of the event
 * loop) all of it is buffered, and the body reader takes it with one read() instead of
 * 'data'/'end' events.
 */
function readBody(req: IncomingMessage, res: ServerResponse, handler: OcspHttpHandler, passOn?: PassOn): void {
  // A client that goes away before then must not leave an 'error' with no listener.
  req.once('error', () => res.destroy());
  setImmediate(() =>
    readNodeBody(req, OCSP_BODY).then(
      (body) => answerPost(req, res, handler, body, passOn),
      (e) => (e instanceof BodyTooLarge ? send(res, handler.tooLarge()) : res.destroy()),
    ),
  );
}

function answerPost(req: IncomingMessage, res: ServerResponse, handler: OcspHttpHandler, body: Buffer, passOn?: PassOn): void {
  const r = attempt(res, () => handler.cachedPost(body) ?? handler.post(body));
  if (!r) return;
  if (!(r instanceof Promise)) return send(res, r);
  r.then(
    (reply) => send(res, reply),
    (e: unknown) => (passOn && e instanceof NotAnsweredHere ? passOn(req, res, body) : failed(res)),
  );
}

function send(res: ServerResponse, r: OcspReply): void {
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

/** The handler's synchronous part: a throw (a bug) answers 503 here instead of escaping the request listener and taking the process down. */
function attempt(res: ServerResponse, answer: () => OcspReply | Promise<OcspReply>): OcspReply | Promise<OcspReply> | null {
  try {
    return answer();
  } catch {
    failed(res);
    return null;
  }
}

/** Unreachable in practice (the handler turns its own failures into OCSP errors); never leave a socket hanging. */
function failed(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(503, { 'Content-Type': 'text/plain' });
  res.end();
}

/**
 * A `createServer` for @hono/node-server that puts the OCSP fast path in front of Hono's listener,
 * with the request time limits (`timeouts`) and, in front of all, the listener's gate.
 */
export function createServerWithOcsp(handler: OcspHttpHandler, o: { timeouts: RequestTimeouts; gate?: ListenerGate; front?: (next: RequestListener) => RequestListener }): typeof createServer {
  return ((opts: ServerOptions, listener?: RequestListener) => {
    const app = listener ?? ((_req, res) => res.writeHead(404).end());
    // `front`: other fast paths (the log's cached tiles) between OCSP and Hono.
    const fast = withOcspFastPath(handler, o.front ? o.front(app) : app);
    const server = createServer({ ...opts, ...timeoutOptions(o.timeouts) }, o.gate ? o.gate.guard(fast) : fast).on('clientError', answerClientError);
    closeSilentConnections(server, o.timeouts);
    return server;
  }) as typeof createServer;
}
