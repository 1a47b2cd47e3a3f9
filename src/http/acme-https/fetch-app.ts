import type { AcmeContext } from '../../acme/context.ts';
import type { RateLimitsConfig } from '../../config/rate-limits.ts';
import type { CaMetrics } from '../../metrics/metrics.ts';
import { caCertificateRoutes, type CaCertificates } from '../routes/ca-certificates.ts';
import { readFetchBody } from '../body-limit.ts';
import { AcmePipeline, type SubResource } from './pipeline.ts';
import type { AcmeResponse } from './respond.ts';
import type { RateLimitBucketsFactory } from './token-buckets.ts';

export interface AcmeAppOptions {
  caCertificates?: CaCertificates;
  /** More resources on the same origin outside /acme/ (EST, OAuth), after the CA certificates. */
  subs?: SubResource[];
  rateLimits?: RateLimitsConfig;
  buckets?: RateLimitBucketsFactory;
  metrics?: CaMetrics;
}

/** The ACME server with the fetch interface (Request → Response): how tests drive it in-process. */
export interface AcmeFetchApp {
  readonly pipeline: AcmePipeline;
  fetch(req: Request): Promise<Response>;
  /** `fetch` with a URL and RequestInit, like Hono's app.request. */
  request(url: string, init?: RequestInit): Promise<Response>;
}

/**
 * The ACME server (RFC 8555): ./pipeline.ts does the work; ./listener.ts serves it over HTTPS
 * with node:http, and this is the same pipeline behind fetch, for in-process use.
 */
export function createAcmePipeline(ctx: AcmeContext, o: AcmeAppOptions = {}): AcmePipeline {
  const subs = [...(o.caCertificates ? [caCertificatesUnder('/ca', o.caCertificates)] : []), ...(o.subs ?? [])];
  return new AcmePipeline(ctx, { rateLimits: o.rateLimits, ...(o.buckets ? { buckets: o.buckets } : {}), metrics: o.metrics, subs });
}

/**
 * In-process requests. A test stands for a TLS client certificate with `peerCertificate` (the DER
 * a handshake would have carried).
 */
export function createAcmeApp(ctx: AcmeContext, o: AcmeAppOptions & { peerCertificate?: (req: Request) => Uint8Array | null } = {}): AcmeFetchApp {
  const pipeline = createAcmePipeline(ctx, o);
  const fetch = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const r = await pipeline.handle({
      method: req.method,
      path: url.pathname,
      query: url.search.slice(1),
      contentType: req.headers.get('content-type') ?? undefined,
      header: (name) => req.headers.get(name) ?? undefined,
      peerCertificate: () => o.peerCertificate?.(req) ?? null,
      remoteAddress: 'unknown',
      body: (limit) => readFetchBody(req, limit),
    });
    return toFetchResponse(req.method, r);
  };
  return { pipeline, fetch, request: (url, init) => fetch(new Request(url, init)) };
}

function toFetchResponse(method: string, r: AcmeResponse): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(r.headers)) for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  const body = method === 'HEAD' || r.body === null ? null : typeof r.body === 'string' ? r.body : r.body.slice();
  return new Response(body, { status: r.status, headers });
}

/** The CA certificates (../routes/ca-certificates.ts) under `prefix`, so a workload can bootstrap trust from the one URL it knows. */
function caCertificatesUnder(prefix: string, certs: CaCertificates): SubResource {
  const routes = caCertificateRoutes(certs);
  return async ({ method, path }) => {
    if (!path.startsWith(`${prefix}/`) || (method !== 'GET' && method !== 'HEAD')) return null;
    const res = await routes.request(path.slice(prefix.length), { method });
    if (res.status === 404) return null;
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[canonicalName(k)] = v));
    return { status: res.status, headers, body: new Uint8Array(await res.arrayBuffer()) };
  };
}

/** "cache-control" → "Cache-Control", as the responder spells the headers it sets. */
const canonicalName = (k: string) => k.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
