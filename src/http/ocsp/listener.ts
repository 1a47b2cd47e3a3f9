import { createServer, type IncomingMessage, type RequestListener, type ServerOptions, type ServerResponse } from 'node:http';
import type { OcspHttpHandler, OcspReply } from './handler.ts';
import { MAX_OCSP_REQUEST_BYTES, NotAnsweredHere } from './handler.ts';

/** Where a request the handler cannot answer here goes (OCSP workers: the primary); `body` is the POST body already read. */
export type PassOn = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => void;

/** Past this many bytes a POST body is not even buffered: the connection is dropped. */
const DROP_AFTER_BYTES = 64 * 1024;

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
      const hit = handler.cachedGet(raw);
      // Answered in the check phase, after the parser has gone through everything the poll
      // phase read: under load one process then answers ~20% more GETs (docs/benchmarks.md).
      if (hit) return void setImmediate(send, res, hit);
      handler.get(raw).then((r) => send(res, r), (e) => (passOn && e instanceof NotAnsweredHere ? passOn(req, res) : failed(res)));
      return;
    }
    if (req.method === 'POST' && (url === '/ocsp' || url === '/ocsp/')) return readBody(req, res, handler, passOn);
    return next(req, res);
  };
}

/**
 * An OCSP POST is a few hundred bytes and nearly always arrives in the packet that carries its
 * headers; once Node's parser has finished that packet (by the next check phase of the event
 * loop) all of it is buffered, and it is taken with one read() instead of 'data'/'end' events.
 * Anything still arriving by then goes through the event path.
 */
function readBody(req: IncomingMessage, res: ServerResponse, handler: OcspHttpHandler, passOn?: PassOn): void {
  // A client that goes away before then must not leave an 'error' with no listener.
  req.once('error', () => res.destroy());
  setImmediate(() => {
    if (!req.complete) return readBodyEvents(req, res, handler, passOn);
    const body = (req.read() as Buffer | null) ?? Buffer.alloc(0);
    answerPost(req, res, handler, body, body.length, passOn);
  });
}

function readBodyEvents(req: IncomingMessage, res: ServerResponse, handler: OcspHttpHandler, passOn?: PassOn): void {
  let first: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > DROP_AFTER_BYTES) {
      req.destroy();
      return;
    }
    if (size > MAX_OCSP_REQUEST_BYTES + 1) return; // keep draining; the answer will be malformedRequest
    if (first === null) first = c;
    else (chunks ??= [first]).push(c);
  });
  req.on('end', () => answerPost(req, res, handler, chunks ? Buffer.concat(chunks) : (first ?? Buffer.alloc(0)), size, passOn));
}

/** `size` is the body's full length; past the cap only its start was kept, and the answer is malformedRequest. */
function answerPost(req: IncomingMessage, res: ServerResponse, handler: OcspHttpHandler, body: Buffer, size: number, passOn?: PassOn): void {
  const hit = size <= MAX_OCSP_REQUEST_BYTES ? handler.cachedPost(body) : null;
  if (hit) return send(res, hit);
  handler.post(size > MAX_OCSP_REQUEST_BYTES ? Buffer.alloc(MAX_OCSP_REQUEST_BYTES + 1) : body).then(
    (r) => send(res, r),
    (e) => (passOn && e instanceof NotAnsweredHere ? passOn(req, res, body) : failed(res)),
  );
}

function send(res: ServerResponse, r: OcspReply): void {
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

/** Unreachable in practice (the handler turns its own failures into OCSP errors); never leave a socket hanging. */
function failed(res: ServerResponse): void {
  if (!res.headersSent) res.writeHead(503, { 'Content-Type': 'text/plain' });
  res.end();
}

/** A `createServer` for @hono/node-server's `serve` that puts the OCSP fast path in front of Hono's listener. */
export function createServerWithOcsp(handler: OcspHttpHandler): typeof createServer {
  return ((opts: ServerOptions, listener?: RequestListener) =>
    createServer(opts ?? {}, withOcspFastPath(handler, listener ?? ((_req, res) => res.writeHead(404).end())))) as typeof createServer;
}
