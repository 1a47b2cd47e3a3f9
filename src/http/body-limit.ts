import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Context, MiddlewareHandler } from 'hono';

/** How large a request body may be; each listener has its own (ACME, OCSP, the plain-HTTP app). */
export interface BodyLimit {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
}

/** A body over its limit; each listener answers it its own way (413 problem, OCSP malformedRequest, 413 text). */
export class BodyTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`request bodies are limited to ${maxBytes} bytes`);
    this.name = 'BodyTooLarge';
  }
}

const EMPTY = Buffer.alloc(0);

/** The chunks of a body, kept while it is within the limit. */
class Kept {
  readonly #chunks: Buffer[] = [];
  size = 0;
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }

  /** False once the body is past the limit: from then on nothing is kept. */
  add(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.#max) return false;
    this.#chunks.push(chunk);
    return true;
  }

  get body(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.size);
  }
}

/**
 * The body of a node:http request; past the limit it rejects with BodyTooLarge at once, and the
 * rest of the body is still read and thrown away as it comes, never left unread: a server that
 * closes a connection with unread data makes its TCP send a reset, which can destroy the answer
 * before the client reads it (RFC 9112 §9.6), so an over-long body would get no HTTP answer at all.
 * On a keep-alive connection the next request is served once this one's body has gone by; a
 * body that never ends is the request timeout's business. A client that goes away mid-body
 * rejects the read with its error, so no listener waits on it forever. A body already complete
 * (the OCSP fast path waits for the check phase) is taken with one read().
 */
export function readNodeBody(req: IncomingMessage, limit: BodyLimit): Promise<Buffer> {
  if (req.complete) {
    const body = (req.read() as Buffer | null) ?? EMPTY;
    return body.length > limit.maxBytes ? Promise.reject(new BodyTooLarge(limit.maxBytes)) : Promise.resolve(body);
  }
  if (req.destroyed) return Promise.reject(new Error('the client went away'));
  return new Promise((resolve, reject) => {
    const kept = new Kept(limit.maxBytes);
    const onData = (chunk: Buffer) => {
      if (kept.add(chunk)) return;
      // Without our listener the stream keeps flowing: the rest is read and dropped as it comes.
      req.off('data', onData).off('end', onEnd);
      reject(new BodyTooLarge(limit.maxBytes));
    };
    const onEnd = () => resolve(kept.body);
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

/** The Content-Length a fetch Request declares, when it is the length of the body (not chunked). */
/** A request with a Transfer-Encoding or a Content-Length above 0 has a body; without either it has none. */
function declaresBody(req: Request): boolean {
  const length = req.headers.get('content-length');
  return req.headers.has('transfer-encoding') || (length !== null && length.trim() !== '0');
}

function declaredLength(req: Request): number | null {
  const v = req.headers.get('content-length');
  return v === null || req.headers.has('transfer-encoding') ? null : Number(v);
}

/** The body of a fetch Request (the ACME app in process, Hono routes), under the same limit. */
export async function readFetchBody(req: Request, limit: BodyLimit): Promise<Buffer> {
  if (!req.body) return EMPTY;
  const kept = new Kept(limit.maxBytes);
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return kept.body;
    if (!kept.add(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) {
      // Read the rest and drop it, as readNodeBody does: cancelling would have the adaptor destroy the socket under the answer.
      void discardRest(reader);
      throw new BodyTooLarge(limit.maxBytes);
    }
  }
}

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // The client went away: nothing left to drop.
  }
}

/**
 * The limit as Hono middleware: `tooLarge` answers before any route runs. A declared length
 * is checked as it stands (the HTTP parser holds the body to it); a chunked body is read here
 * and handed on as bytes.
 */
export function bodyLimit(limit: BodyLimit, tooLarge: (c: Context) => Response): MiddlewareHandler {
  return async (c, next) => {
    const req = c.req.raw;
    // From node:http, whether there is a body is decided by the headers alone (RFC 9112 §6.3).
    // Touching `req.body` there makes @hono/node-server build a whole fetch Request with an
    // AbortController, which undici tracks weakly: only a full GC frees them, so a flood of GETs
    // grew the old generation by hundreds of MiB and it stayed when idle (#21).
    const fromNode = (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
    if (fromNode ? !declaresBody(req) : !req.body) return next();
    const declared = declaredLength(req);
    if (declared !== null) return declared > limit.maxBytes ? tooLarge(c) : next();
    try {
      c.req.raw = new Request(req, { body: new Uint8Array(await readFetchBody(req, limit)) });
    } catch (e) {
      if (e instanceof BodyTooLarge) return tooLarge(c);
      throw e;
    }
    return next();
  };
}

/** How long a connection refused for its request head may keep sending before it is closed. */
const LINGER_MS = 2_000;
const STATUS_LINE: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large', // a request line or headers past maxHeaderSize (an over-long GET path)
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};
const answered = new WeakSet<Duplex>();

/**
 * A node:http server's 'clientError' listener: the same answers as Node's default (431 for a
 * request head past the header limit, 408, 400), but the close lingers. Node destroys the
 * socket right after writing its answer while the client is still sending (a 100 KB GET path),
 * so the client's TCP gets a reset and usually loses the answer (RFC 9112 §9.6). Here our side
 * is ended after the answer and what still arrives is read and dropped until the client is done
 * or LINGER_MS have passed.
 */
export function answerClientError(e: Error & { code?: string }, socket: Duplex): void {
  if (answered.has(socket)) return; // the parser reports the same error again for every later chunk
  answered.add(socket);
  if (!socket.writable || (socket as Socket).bytesWritten > 0) return void socket.destroy();
  socket.end(`HTTP/1.1 ${STATUS_LINE[e.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.resume();
}
