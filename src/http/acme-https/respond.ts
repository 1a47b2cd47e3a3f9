import type { AcmeReply } from '../../acme/context.ts';
import type { AcmeLinks } from '../../acme/links.ts';
import type { NonceService } from '../../acme/nonces.ts';
import type { AcmeProblem } from '../../acme/problems.ts';

export type ResponseHeaders = Record<string, string | string[]>;

/** An ACME response as plain values; ./listener.ts writes it to node:http, ./app.ts makes a fetch Response of it. */
export interface AcmeResponse {
  status: number;
  headers: ResponseHeaders;
  body: string | Uint8Array | null;
  /** Set on problem documents (for the metrics label). */
  problemType?: string;
}

/**
 * Builds every ACME response with the headers RFC 8555 wants on all of them (§6.5 Replay-Nonce,
 * §7.1 Link rel="index", §6.7/§7.2 no caching) plus X-Request-Id, in one place.
 */
export class AcmeResponder {
  readonly #nonces: NonceService;
  readonly #index: string;

  constructor(nonces: NonceService, links: AcmeLinks) {
    this.#nonces = nonces;
    this.#index = `<${links.directory}>;rel="index"`;
  }

  /** A handler's AcmeReply as the HTTP response (Location, Retry-After, Link; PEM chain or JSON). */
  reply(requestId: string, r: AcmeReply): AcmeResponse {
    const h: ResponseHeaders = {};
    if (r.location) h.Location = r.location;
    if (r.retryAfterS !== undefined) h['Retry-After'] = String(r.retryAfterS);
    if (r.pem !== undefined) {
      h['Content-Type'] = 'application/pem-certificate-chain';
      return this.#send(requestId, r.status, r.pem, h, r.links);
    }
    if (r.json === undefined) return this.#send(requestId, r.status, null, h, r.links);
    h['Content-Type'] = 'application/json';
    return this.#send(requestId, r.status, JSON.stringify(r.json), h, r.links);
  }

  /** application/problem+json (RFC 7807) with the problem's own headers (Retry-After on rateLimited, …). */
  problem(requestId: string, p: AcmeProblem, extra: Record<string, string> = {}): AcmeResponse {
    const res = this.#send(requestId, p.status, JSON.stringify(p), { ...extra, ...p.headers, 'Content-Type': 'application/problem+json' });
    res.problemType = p.type;
    return res;
  }

  /** A response made elsewhere (the CA certificates) with the same headers; it keeps its own cache policy. */
  complete(requestId: string, r: AcmeResponse): AcmeResponse {
    return this.#send(requestId, r.status, r.body, r.headers);
  }

  #send(requestId: string, status: number, body: string | Uint8Array | null, headers: ResponseHeaders, links: string[] = []): AcmeResponse {
    if (headers['Cache-Control'] === undefined) headers['Cache-Control'] = 'no-store';
    headers['Replay-Nonce'] = this.#nonces.issue();
    headers.Link = links.length ? [...links, this.#index] : this.#index;
    headers['X-Request-Id'] = requestId;
    return { status, headers, body };
  }
}
