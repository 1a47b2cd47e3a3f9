import { Hono } from 'hono';
import { BodyTooLarge, readFetchBody } from '../body-limit.ts';
import { OCSP_BODY, type OcspHttpHandler, type OcspReply } from './handler.ts';

/**
 * OCSP on the Hono app (RFC 6960 Appendix A): GET /ocsp/<url-encoded base64> and POST /ocsp.
 * The plain-HTTP listener answers these before Hono sees them (ocsp-listener.ts); these
 * routes serve the same answers wherever the app is mounted without that fast path.
 */
export function ocspRoutes(handler: OcspHttpHandler): Hono {
  const app = new Hono();
  app.post('/', async (c) => {
    let body: Buffer;
    try {
      body = await readFetchBody(c.req.raw, OCSP_BODY);
    } catch (e) {
      if (e instanceof BodyTooLarge) return toResponse(handler.tooLarge());
      throw e;
    }
    return toResponse(handler.cachedPost(body) ?? (await handler.post(body)));
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
