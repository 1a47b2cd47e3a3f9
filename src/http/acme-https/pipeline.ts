import { randomUUID } from 'node:crypto';
import type { AcmeContext, AcmeReply } from '../../acme/context.ts';
import { newAccount, listOrders, updateAccount } from '../../acme/handlers/account.ts';
import { postAuthz } from '../../acme/handlers/authz.ts';
import { downloadCertificate } from '../../acme/handlers/certificate.ts';
import { postChallenge } from '../../acme/handlers/challenge.ts';
import { getDirectory } from '../../acme/handlers/directory.ts';
import { finalizeOrder } from '../../acme/handlers/finalize.ts';
import { changeKey } from '../../acme/handlers/key-change.ts';
import { getOrder, newOrder } from '../../acme/handlers/order.ts';
import { getRenewalInfo } from '../../acme/handlers/renewal-info.ts';
import { revokeCertificate } from '../../acme/handlers/revoke.ts';
import { malformed, methodNotAllowed, notFound, rateLimited, unsupportedMediaType, problemName, type AcmeProblem } from '../../acme/problems.ts';
import { verifyAcmeRequest, type VerifiedRequest } from '../../acme/request.ts';
import type { BucketConfig, RateLimitsConfig } from '../../config/rate-limits.ts';
import type { CaMetrics } from '../../metrics/metrics.ts';
import { toProblem } from '../problem.ts';
import { TokenBuckets } from './token-buckets.ts';
import { AcmeResponder, type AcmeResponse } from './respond.ts';

/** Largest JWS accepted: CSRs with 100 names and RSA-4096 keys fit well within it. */
export const MAX_JWS_BYTES = 64 * 1024;

/** What the pipeline needs of an HTTP request, whoever parsed it (node:http, or a fetch Request in tests). */
export interface AcmeHttpRequest {
  method: string;
  /** The path, without the query. */
  path: string;
  contentType: string | undefined;
  /** The client address (per-IP rate limits). */
  remoteAddress: string;
  /** The body as text, at most MAX_JWS_BYTES (else it rejects with a 413 problem). */
  body(): Promise<string>;
}

/** Anything outside /acme/ that the ACME origin also serves (the CA certificates), as a plain response. */
export type SubResource = (method: string, path: string) => Promise<AcmeResponse | null>;

type KeyMode = 'jwk' | 'kid' | 'either';
type Limit = { name: string; buckets: TokenBuckets } | null;
interface PostRoute {
  keyMode: KeyMode;
  /** Per client address, checked before the JWS (whose check costs more). */
  ipLimit?: Limit;
  /** Per account, checked after it (only a verified kid names an account). */
  accountLimit?: Limit;
  run(req: VerifiedRequest, id: string): AcmeReply | Promise<AcmeReply>;
}

/** ACME resources by their first path segment after /acme/, for the route table and the metrics label. */
const RESOURCES: Record<string, string> = {
  directory: 'directory',
  'new-nonce': 'newNonce',
  'new-account': 'newAccount',
  account: 'account',
  'key-change': 'keyChange',
  'new-order': 'newOrder',
  order: 'order',
  authz: 'authz',
  challenge: 'challenge',
  cert: 'certificate',
  'revoke-cert': 'revokeCert',
  'renewal-info': 'renewalInfo',
};

/** The resource a path names, from a fixed set (never the path itself: ids would make unbounded series). */
export function acmeResourceOf(path: string): string {
  if (!path.startsWith('/acme/')) return path.startsWith('/ca/') ? 'caCertificates' : 'other';
  const rest = path.slice(6);
  const slash = rest.indexOf('/');
  const r = RESOURCES[slash === -1 ? rest : rest.slice(0, slash)];
  if (!r) return 'other';
  if (r === 'order' && path.endsWith('/finalize')) return 'finalize';
  if (r === 'account' && path.endsWith('/orders')) return 'orders';
  return r;
}

export interface AcmePipelineOptions {
  rateLimits?: RateLimitsConfig;
  metrics?: CaMetrics;
  /** Served for paths outside /acme/ (the CA certificates under /ca). */
  sub?: SubResource;
  now?: () => number;
}

/**
 * One ACME request from start to end (RFC 8555), in the order the RFC implies: route →
 * Content-Type (§6.2) → per-IP limit → JWS verification (§6.2–§6.5) → per-account limit →
 * handler → reply with the headers every response carries (./respond.ts); any error becomes a
 * problem document (../problem.ts). Then one metrics count and one log line. It works on plain
 * values, so node:http (./listener.ts) and fetch (./app.ts, used in-process) share all of it:
 * a web framework's middleware chain and Request/Response objects cost more per request than
 * everything here but the signature check.
 */
export class AcmePipeline {
  readonly #ctx: AcmeContext;
  readonly #out: AcmeResponder;
  readonly #posts: Map<string, PostRoute>;
  readonly #newNonceLimit: Limit;
  readonly #sub: SubResource | undefined;
  readonly #metrics: CaMetrics | undefined;
  readonly #counters = new Map<string, { inc(): void }>();
  readonly #now: () => number;

  constructor(ctx: AcmeContext, o: AcmePipelineOptions = {}) {
    this.#ctx = ctx;
    this.#out = new AcmeResponder(ctx.nonces, ctx.links);
    this.#sub = o.sub;
    this.#metrics = o.metrics;
    this.#now = o.now ?? Date.now;
    const limit = (name: string, config: BucketConfig | undefined): Limit => (config ? { name, buckets: new TokenBuckets(config) } : null);
    const l = o.rateLimits;
    this.#newNonceLimit = limit('newNonce per IP', l?.newNoncePerIp);
    const newAccountLimit = limit('newAccount per IP', l?.newAccountPerIp);
    const newOrderLimit = limit('newOrder per account', l?.newOrderPerAccount);
    const finalizeLimit = limit('finalize per account', l?.finalizePerAccount);
    // Keyed by the path with its id replaced by ":id" (see #postRouteOf).
    this.#posts = new Map(Object.entries({
      'new-account': { keyMode: 'jwk', ipLimit: newAccountLimit, run: (r) => newAccount(ctx, r) },
      'account/:id': { keyMode: 'kid', run: (r, id) => updateAccount(ctx, r, id) },
      'account/:id/orders': { keyMode: 'kid', run: (r, id) => listOrders(ctx, r, id) },
      'key-change': { keyMode: 'kid', run: (r) => changeKey(ctx, r) },
      'new-order': { keyMode: 'kid', accountLimit: newOrderLimit, run: (r) => newOrder(ctx, r) },
      'order/:id': { keyMode: 'kid', run: (r, id) => getOrder(ctx, r, id) },
      'order/:id/finalize': { keyMode: 'kid', accountLimit: finalizeLimit, run: (r, id) => finalizeOrder(ctx, r, id) },
      'authz/:id': { keyMode: 'kid', run: (r, id) => postAuthz(ctx, r, id) },
      'challenge/:id': { keyMode: 'kid', run: (r, id) => postChallenge(ctx, r, id) },
      'cert/:id': { keyMode: 'kid', run: (r, id) => downloadCertificate(ctx, r, id) },
      'revoke-cert': { keyMode: 'either', run: (r) => revokeCertificate(ctx, r) },
    } satisfies Record<string, PostRoute>));
  }

  async handle(req: AcmeHttpRequest): Promise<AcmeResponse> {
    const start = performance.now();
    const requestId = randomUUID();
    let res: AcmeResponse;
    let problem = 'none';
    try {
      res = await this.#route(req, requestId);
      if (res.status >= 400) problem = res.problemType ?? (res.status >= 500 ? 'serverInternal' : 'malformed');
    } catch (e) {
      const p = toProblem(e, this.#ctx.logger, { path: req.path });
      problem = p.type;
      res = this.#out.problem(requestId, p);
    }
    this.#count(acmeResourceOf(req.path), problemName(problem));
    this.#ctx.logger.info('http.request', { requestId, method: req.method, path: req.path, status: res.status, ms: Math.round((performance.now() - start) * 100) / 100 });
    return res;
  }

  async #route(req: AcmeHttpRequest, requestId: string): Promise<AcmeResponse> {
    const { method, path } = req;
    const get = method === 'GET' || method === 'HEAD';
    if (method === 'POST') {
      // §6.2: before anything else, so a POST anywhere with the wrong type is 415.
      const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/jose+json') throw unsupportedMediaType(`Content-Type must be application/jose+json, not "${type || 'none'}"`);
    }
    if (!path.startsWith('/acme/')) {
      const sub = this.#sub && (await this.#sub(method, path));
      if (sub) return this.#out.complete(requestId, sub);
      return this.#out.problem(requestId, notFound());
    }
    const rest = path.slice(6);
    if (get) {
      if (rest === 'directory') return this.#out.reply(requestId, getDirectory(this.#ctx));
      // §7.2: HEAD → 200, GET → 204.
      if (rest === 'new-nonce') {
        this.#take(this.#newNonceLimit, req.remoteAddress);
        return this.#out.reply(requestId, { status: method === 'HEAD' ? 200 : 204 });
      }
      if (rest.startsWith('renewal-info/') && rest.indexOf('/', 13) === -1) return this.#out.reply(requestId, getRenewalInfo(this.#ctx, rest.slice(13)));
      // §6.3: resources are read with POST-as-GET; a plain GET on them is 405.
      return this.#out.problem(requestId, methodNotAllowed('use POST-as-GET (RFC 8555 §6.3)'), { Allow: 'POST' });
    }
    const found = method === 'POST' ? postRouteOf(rest) : null;
    const route = found && this.#posts.get(found.key);
    if (!route) return this.#out.problem(requestId, notFound());
    this.#take(route.ipLimit, req.remoteAddress);
    let body: unknown;
    try {
      body = JSON.parse(await req.body());
    } catch (e) {
      if ((e as AcmeProblem).status === 413) throw e;
      throw malformed('the request body is not JSON');
    }
    const verified = await verifyAcmeRequest(this.#ctx, body, path, route.keyMode);
    if (route.accountLimit) this.#take(route.accountLimit, verified.account?.id ?? verified.thumbprint);
    return this.#out.reply(requestId, await route.run(verified, found.id));
  }

  /** RFC 8555 §6.7: over the limit is `rateLimited` (429) with Retry-After. */
  #take(limit: Limit | undefined, key: string): void {
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

const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** "order/abc/finalize" → { key: "order/:id/finalize", id: "abc" }; paths without an id map to themselves. */
function postRouteOf(rest: string): { key: string; id: string } | null {
  const parts = rest.split('/');
  if (parts.length === 1) return { key: rest, id: '' };
  if (parts.length > 3 || !ID.test(parts[1]!)) return null;
  parts[1] = ':id';
  return { key: parts.join('/'), id: rest.split('/')[1]! };
}
