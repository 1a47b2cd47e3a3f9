import type { Clock } from '../../domain/clock.ts';
import { OCSP, OcspCounters } from '../../metrics/ocsp-counters.ts';
import type { OcspResponseCache, ServedResponse } from '../../status/ocsp-cache.ts';
import type { OcspAnswer, OcspResponder } from '../../status/ocsp-responder.ts';
import { MALFORMED_REQUEST, TRY_LATER } from '../../status/ocsp-response.ts';
import type { BodyLimit } from '../body-limit.ts';

/** An HTTP answer as flat raw headers ([name, value, name, value…]), which node:http writes without re-processing. */
export interface OcspReply {
  status: number;
  headers: string[];
  body: Buffer;
}

/** Largest OCSP request accepted: a few CertIDs and a nonce fit in far less. */
const MAX_OCSP_REQUEST_BYTES = 8 * 1024;

/** POST bodies: past the cap the answer is malformedRequest (tooLarge), on a connection that stays usable. */
export const OCSP_BODY: BodyLimit = { maxBytes: MAX_OCSP_REQUEST_BYTES };

const CONTENT_TYPE = 'application/ocsp-response';

/**
 * Thrown by a status source that cannot answer here (an OCSP worker process holds only
 * pre-signed responses): the request is passed on whole instead of answered tryLater.
 */
export class NotAnsweredHere extends Error {}

/**
 * OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5-6), independent of the HTTP framework:
 * GET `/ocsp/<url-encoded base64 DER>` and POST with the DER as body. A request seen
 * before is answered from the raw-bytes cache without parsing (`cachedGet`/`cachedPost`,
 * synchronous); anything else goes through the responder. Errors are OCSP error responses
 * with HTTP 200, as RFC 6960 wants; bad input never produces a 5xx.
 */
export class OcspHttpHandler {
  readonly #responder: OcspResponder;
  readonly #cache: OcspResponseCache;
  readonly #clock: Clock;
  /** Requests by (method, result), indexed by OCSP.*: one increment per request. */
  readonly #n: Float64Array;

  constructor(d: { responder: OcspResponder; cache: OcspResponseCache; clock: Clock; counters?: OcspCounters }) {
    this.#responder = d.responder;
    this.#cache = d.cache;
    this.#clock = d.clock;
    this.#n = (d.counters ?? new OcspCounters()).n;
  }

  /** The hot path for GET: `rawPath` is everything after `/ocsp/`, still URL-encoded. */
  cachedGet(rawPath: string): OcspReply | null {
    const r = this.#cache.forRequest('G' + rawPath, this.#clock.now().getTime());
    if (!r) return null;
    this.#n[OCSP.GET_CACHED]!++;
    return this.#cachedReply(r);
  }

  cachedPost(body: Buffer): OcspReply | null {
    const r = this.#cache.forRequest('P' + body.toString('latin1'), this.#clock.now().getTime());
    if (!r) return null;
    this.#n[OCSP.POST_CACHED]!++;
    return this.#cachedReply(r);
  }

  /** Synchronous when the answer is stored (see OcspResponder.answer); a promise when it is signed now or passed on. */
  get(rawPath: string): OcspReply | Promise<OcspReply> {
    const der = decodeGetPath(rawPath);
    if (!der) {
      this.#n[OCSP.GET_ERROR]!++;
      return errorReply(MALFORMED_REQUEST);
    }
    return this.#answer(der, 'G' + rawPath);
  }

  /** `body` was read under OCSP_BODY. */
  post(body: Buffer): OcspReply | Promise<OcspReply> {
    return this.#answer(body, 'P' + body.toString('latin1'));
  }

  /** The answer to a POST body over OCSP_BODY: not a request we can read (RFC 6960 §4.2.1). */
  tooLarge(): OcspReply {
    this.#n[OCSP.POST_ERROR]!++;
    return errorReply(MALFORMED_REQUEST);
  }

  #answer(der: Uint8Array, cacheKey: string): OcspReply | Promise<OcspReply> {
    // GET_* and POST_* are laid out alike: the POST index is the GET index plus 5.
    const base = cacheKey.charCodeAt(0) === 0x47 /* G */ ? OCSP.GET_CACHED : OCSP.POST_CACHED;
    let a: OcspAnswer | Promise<OcspAnswer>;
    try {
      a = this.#responder.answer(der);
    } catch (e) {
      // Thrown only by a status source that passes requests on: handed to the caller as a rejection, as from the async path.
      return e instanceof NotAnsweredHere ? Promise.reject(e) : this.#failed(e, base);
    }
    return a instanceof Promise ? a.then((x) => this.#reply(x, cacheKey, base), (e: unknown) => this.#failed(e, base)) : this.#reply(a, cacheKey, base);
  }

  #reply(a: OcspAnswer, cacheKey: string, base: number): OcspReply {
    this.#n[base + (a.kind === 'error' ? OCSP.GET_ERROR : a.kind === 'signed' ? OCSP.GET_SIGNED : OCSP.GET_PRESIGNED)]!++;
    if (a.kind === 'error') return errorReply(a.body);
    if (a.kind === 'signed') return { status: 200, headers: ['Content-Type', CONTENT_TYPE, 'Content-Length', String(a.body.length), 'Cache-Control', 'no-store'], body: Buffer.from(a.body) };
    if (a.cacheable) this.#cache.rememberRequest(cacheKey, a.response.serial);
    return this.#cachedReply(a.response);
  }

  #failed(e: unknown, base: number): OcspReply {
    if (e instanceof NotAnsweredHere) throw e;
    this.#n[base + OCSP.GET_TRY_LATER]!++;
    // Our failure, not the client's: RFC 6960's internalError would do, but tryLater invites a retry.
    return errorReply(TRY_LATER);
  }

  /** RFC 5019 §6.2 caching headers: max-age until nextUpdate, Last-Modified = thisUpdate, ETag, Expires. */
  #cachedReply(r: ServedResponse): OcspReply {
    const maxAge = Math.max(0, Math.floor((r.nextUpdateMs - this.#clock.now().getTime()) / 1000));
    return {
      status: 200,
      headers: [
        'Content-Type', CONTENT_TYPE,
        'Content-Length', String(r.body.length),
        'Cache-Control', `max-age=${maxAge}, public, no-transform, must-revalidate`,
        'Last-Modified', r.lastModified,
        'Expires', r.expires,
        'ETag', r.etag,
      ],
      body: r.body,
    };
  }
}

function errorReply(body: Uint8Array): OcspReply {
  return { status: 200, headers: ['Content-Type', CONTENT_TYPE, 'Content-Length', String(body.length), 'Cache-Control', 'no-store'], body: Buffer.from(body) };
}

/**
 * RFC 6960 Appendix A.1: GET carries `url-encoding of base-64 encoding of the DER`. The base64
 * may contain '/', so this is the whole raw path after `/ocsp/`. Returns null for anything that
 * is not strict base64 once URL-decoded.
 */
export function decodeGetPath(rawPath: string): Buffer | null {
  let b64: string;
  try {
    b64 = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (b64.length === 0 || b64.length > (MAX_OCSP_REQUEST_BYTES * 4) / 3 + 4) return null;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || (b64.includes('=') && b64.length % 4 !== 0) || b64.length % 4 === 1) return null;
  return Buffer.from(b64, 'base64');
}
