import { Hono } from 'hono';
import type { OcspHttpHandler, OcspReply } from './handler.ts';
import { MAX_OCSP_REQUEST_BYTES } from './handler.ts';

/**
 * OCSP on the Hono app (RFC 6960 Appendix A): GET /ocsp/<url-encoded base64> and POST /ocsp.
 * The plain-HTTP listener answers these before Hono sees them (ocsp-listener.ts); these
 * routes serve the same answers wherever the app is mounted without that fast path.
 */
export function ocspRoutes(handler: OcspHttpHandler): Hono {
  const app = new Hono();
  app.post('/', async (c) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    return toResponse(handler.cachedPost(body) ?? (await handler.post(body.subarray(0, MAX_OCSP_REQUEST_BYTES + 1))));
  });
  app.get('/*', async (c) => {
    // The raw path, not Hono's decoded one: base64 may hold '/' and '+'.
    const raw = new URL(c.req.url).pathname.replace(/^.*?\/ocsp\//, '');
    return toResponse(handler.cachedGet(raw) ?? (await handler.get(raw)));
  });
  return app;
}

function toResponse(r: OcspReply): Response {
  const headers = new Headers();
  for (let i = 0; i < r.headers.length; i += 2) headers.set(r.headers[i]!, r.headers[i + 1]!);
  return new Response(new Uint8Array(r.body), { status: r.status, headers });
}
