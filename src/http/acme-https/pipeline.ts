import type { AcmeContext } from '../../acme/context.ts';
import { GET_HANDLERS, POST_HANDLERS, type GetHandler, type PostHandler } from '../../acme/handlers/by-route.ts';
import { malformed, methodNotAllowed, notFound, payloadTooLarge, problemName, rateLimited, unsupportedMediaType } from '../../acme/problems.ts';
import { verifyAcmeRequest } from '../../acme/request.ts';
import { acmeRouter, type AcmeRouteName, type KeyMode } from '../../acme/routes.ts';
import type { RateLimitsConfig } from '../../config/rate-limits.ts';
import type { CaMetrics } from '../../metrics/metrics.ts';
import { BodyTooLarge, type BodyLimit } from '../body-limit.ts';
import { toProblem } from '../problem.ts';
import { logRequest, problemOfBody, startRequest, type LoggedProblem } from '../request-log.ts';
import { TokenBuckets, type RateLimitBuckets, type RateLimitBucketsFactory } from './token-buckets.ts';
import { AcmeResponder, type AcmeResponse } from './respond.ts';

/** Largest JWS accepted: CSRs with 100 names and RSA-4096 keys fit well within it. */
const ACME_BODY: BodyLimit = { maxBytes: 64 * 1024 };

/** What the pipeline needs of an HTTP request, whoever parsed it (node:http, or a fetch Request in tests). */
export interface AcmeHttpRequest {
  method: string;
  /** The path, without the query. */
  path: string;
  contentType: string | undefined;
  /** The client address (per-IP rate limits). */
  remoteAddress: string;
  /** The body, read under `limit` (../body-limit.ts: it rejects with BodyTooLarge past it). */
  body(limit: BodyLimit): Promise<Buffer>;
  /** The query string without its "?" ('' when none). */
  query?: string;
  /** A request header by lower-case name (the first value when repeated). */
  header?(name: string): string | undefined;
  /**
   * The DER of the certificate the client presented in the TLS handshake, or null. The listener
   * asks for one but does not verify it (requestCert without rejectUnauthorized): whoever uses it
   * (EST re-enrollment, OAuth mTLS client auth) checks it against this CA and its status.
   */
  peerCertificate?(): Uint8Array | null;
}

/**
 * Anything outside /acme/ that the same TLS origin serves (the CA certificates, EST, OAuth): null
 * when the path is not its own. A response with `bare` set goes out as it is (plus X-Request-Id),
 * without the ACME headers (Replay-Nonce, Link) that only ACME clients use.
 */
export type SubResource = (req: AcmeHttpRequest) => Promise<(AcmeResponse & { bare?: boolean }) | null>;

type Limit = { name: string; buckets: RateLimitBuckets } | null;

/** A route of the table (../../acme/routes.ts) with its handlers and rate limits. */
interface BoundRoute {
  /** The resource, for the metrics label. */
  name: AcmeRouteName;
  get: GetHandler | undefined;
  post: { keyMode: KeyMode; run: PostHandler } | undefined;
  ipLimit: Limit;
  accountLimit: Limit;
}
type Match = { route: BoundRoute; id: string } | null;

export interface AcmePipelineOptions {
  rateLimits?: RateLimitsConfig;
  /** Where the limits keep their buckets: this process's memory unless given (replicas share theirs, #22). */
  buckets?: RateLimitBucketsFactory;
  metrics?: CaMetrics;
  /** Served for paths outside /acme/ (the CA certificates under /ca, EST, OAuth), tried in order. */
  subs?: SubResource[];
  now?: () => number;
}

/**
 * One ACME request from start to end (RFC 8555), in the order the RFC implies: route →
 * Content-Type (§6.2) → per-IP limit → JWS verification (§6.2–§6.5) → per-account limit →
 * handler → reply with the headers every response carries (./respond.ts); any error becomes a
 * problem document (../problem.ts). Then one metrics count and one log line. It works on plain
 * values, so node:http (./listener.ts) and fetch (./fetch-app.ts, used in-process) share all of it:
 * a web framework's middleware chain and Request/Response objects cost more per request than
 * everything here but the signature check.
 */
export class AcmePipeline {
  readonly #ctx: AcmeContext;
  readonly #out: AcmeResponder;
  readonly #match: (rest: string) => Match;
  readonly #subs: SubResource[];
  readonly #metrics: CaMetrics | undefined;
  readonly #counters = new Map<string, { inc(): void }>();
  readonly #now: () => number;

  constructor(ctx: AcmeContext, o: AcmePipelineOptions = {}) {
    this.#ctx = ctx;
    this.#out = new AcmeResponder(ctx.nonces, ctx.links);
    this.#subs = o.subs ?? [];
    this.#metrics = o.metrics;
    this.#now = o.now ?? Date.now;
    const limit = (name: string, key: keyof RateLimitsConfig | undefined): Limit => {
      const config = key && o.rateLimits?.[key];
      return config ? { name, buckets: o.buckets ? o.buckets(name, config) : new TokenBuckets(config) } : null;
    };
    const gets: Partial<Record<AcmeRouteName, GetHandler>> = GET_HANDLERS;
    const posts: Partial<Record<AcmeRouteName, PostHandler>> = POST_HANDLERS;
    this.#match = acmeRouter((name, spec) => ({
      name,
      get: gets[name],
      post: spec.post && { keyMode: spec.post, run: posts[name]! },
      ipLimit: limit(`${name} per IP`, spec.ipLimit),
      accountLimit: limit(`${name} per account`, spec.accountLimit),
    }));
  }

  async handle(req: AcmeHttpRequest): Promise<AcmeResponse> {
    const start = startRequest();
    const match = req.path.startsWith('/acme/') ? this.#match(req.path.slice(6)) : null;
    let res: AcmeResponse;
    let problem = 'none';
    let told: LoggedProblem | undefined;
    try {
      res = await this.#route(req, match, start.id);
      if (res.status >= 400) {
        problem = res.problemType ?? (res.status >= 500 ? 'serverInternal' : 'malformed');
        told = res.problemType ? problemOfBody(res.body) : undefined;
      }
    } catch (e) {
      const p = toProblem(e, this.#ctx.logger, { path: req.path });
      problem = p.type;
      told = p;
      res = this.#out.problem(start.id, p);
    }
    // Labelled by route name, never by path: ids would make unbounded series.
    this.#count(match ? match.route.name : req.path.startsWith('/ca/') ? 'caCertificates' : 'other', problemName(problem));
    logRequest(this.#ctx.logger, start, req.method, req.path, res.status, told);
    return res;
  }

  async #route(req: AcmeHttpRequest, match: Match, requestId: string): Promise<AcmeResponse> {
    const { method, path } = req;
    if (!path.startsWith('/acme/')) {
      for (const serve of this.#subs) {
        const sub = await serve(req);
        if (sub) return sub.bare ? { ...sub, headers: { ...sub.headers, 'X-Request-Id': requestId } } : this.#out.complete(requestId, sub);
      }
      return this.#out.problem(requestId, notFound());
    }
    if (method === 'POST') {
      // §6.2: before anything else, so a POST to any ACME path with the wrong type is 415.
      const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/jose+json') throw unsupportedMediaType(`Content-Type must be application/jose+json, not "${type || 'none'}"`);
    }
    const route = match?.route;
    const id = match?.id ?? '';
    if (method === 'GET' || method === 'HEAD') {
      // §6.3: resources are read with POST-as-GET; a plain GET on them is 405.
      if (!route?.get) return this.#out.problem(requestId, methodNotAllowed('use POST-as-GET (RFC 8555 §6.3)'), { Allow: 'POST' });
      this.#take(route.ipLimit, req.remoteAddress);
      return this.#out.reply(requestId, route.get(this.#ctx, id, method));
    }
    if (method !== 'POST' || !route?.post) return this.#out.problem(requestId, notFound());
    this.#take(route.ipLimit, req.remoteAddress);
    let body: unknown;
    try {
      body = JSON.parse((await req.body(ACME_BODY)).toString('utf8'));
    } catch (e) {
      if (e instanceof BodyTooLarge) throw payloadTooLarge(e.message);
      throw malformed('the request body is not JSON');
    }
    const verified = await verifyAcmeRequest(this.#ctx, body, path, route.post.keyMode);
    this.#take(route.accountLimit, verified.account?.id ?? verified.thumbprint);
    return this.#out.reply(requestId, await route.post.run(this.#ctx, verified, id));
  }

  /** RFC 8555 §6.7: over the limit is `rateLimited` (429) with Retry-After. */
  #take(limit: Limit, key: string): void {
    if (!limit) return;
    const wait = limit.buckets.take(key, this.#now());
    if (wait === 0) return;
    this.#metrics?.rateLimited.inc({ limit: limit.name });
    throw rateLimited(`too many requests (${limit.name}): try again in ${wait} s`, wait);
  }

  /** pki_acme_requests_total by resource and problem; after the first request of a kind, a Map hit and an add. */
  #count(resource: string, problem: string): void {
    if (!this.#metrics) return;
    const key = `${resource} ${problem}`;
    let child = this.#counters.get(key);
    if (!child) this.#counters.set(key, (child = this.#metrics.acmeRequests.labels({ resource, problem })));
    child.inc();
  }
}
