import type { MiddlewareHandler } from 'hono';
import type { AcmeReply } from '../../acme/context.ts';
import type { AcmeLinks } from '../../acme/links.ts';
import type { NonceService } from '../../acme/nonces.ts';
import type { AcmeProblem } from '../../acme/problems.ts';

type Headers_ = Record<string, string | string[]>;
/** What the responder needs of a request's context: the id the request log gave it. */
type Ctx = { var: { requestId?: string } };

/**
 * Builds every ACME response with the headers RFC 8555 wants on all of them (§6.5 Replay-Nonce,
 * §7.1 Link rel="index", §6.7/§7.2 no caching) plus X-Request-Id, as one plain header object:
 * @hono/node-server then writes it straight to Node's response, where adding headers to a finished
 * Response afterwards would build WHATWG Headers objects on every request (measured: ~10% of a
 * POST-as-GET). `headers()` is the fallback for responses made elsewhere (hono's bodyLimit,
 * sub-apps such as /ca): it adds the same headers to whatever came back without them.
 */
export class AcmeResponder {
  readonly #nonces: NonceService;
  readonly #index: string;
  readonly #complete = new WeakSet<Response>();

  constructor(nonces: NonceService, links: AcmeLinks) {
    this.#nonces = nonces;
    this.#index = `<${links.directory}>;rel="index"`;
  }

  /** A handler's AcmeReply as the HTTP response (Location, Retry-After, Link; PEM chain or JSON). */
  reply(c: Ctx, r: AcmeReply): Response {
    const h: Headers_ = {};
    if (r.location) h.Location = r.location;
    if (r.retryAfterS !== undefined) h['Retry-After'] = String(r.retryAfterS);
    if (r.pem !== undefined) return this.send(c, r.status, r.pem, { ...h, 'Content-Type': 'application/pem-certificate-chain' }, r.links);
    if (r.json === undefined) return this.send(c, r.status, null, h, r.links);
    return this.send(c, r.status, JSON.stringify(r.json), { ...h, 'Content-Type': 'application/json' }, r.links);
  }

  /** application/problem+json (RFC 7807) with the problem's own headers (Retry-After on rateLimited, …). */
  problem(c: Ctx, p: AcmeProblem, extra: Record<string, string> = {}): Response {
    return this.send(c, p.status, JSON.stringify(p), { ...extra, ...p.headers, 'Content-Type': 'application/problem+json' });
  }

  send(c: Ctx, status: number, body: string | null, headers: Headers_, links: string[] = []): Response {
    const res = new Response(body, {
      status,
      headers: {
        'Cache-Control': 'no-store',
        ...headers,
        'Replay-Nonce': this.#nonces.issue(),
        Link: links.length ? [...links, this.#index] : this.#index,
        ...(c.var.requestId ? { 'X-Request-Id': c.var.requestId } : {}),
      } as Record<string, string>,
    });
    this.#complete.add(res);
    return res;
  }

  /** Middleware: the same headers on responses not built by `send`. */
  headers(): MiddlewareHandler<{ Variables: { requestId?: string } }> {
    return async (c, next) => {
      await next();
      if (this.#complete.has(c.res)) return;
      const h = c.res.headers;
      h.set('Replay-Nonce', this.#nonces.issue());
      h.append('Link', this.#index);
      if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
      if (c.var.requestId) h.set('X-Request-Id', c.var.requestId);
    };
  }
}
