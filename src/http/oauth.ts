import type { OAuthReply } from '../oauth/errors.ts';
import { OAUTH_PATHS } from '../oauth/metadata.ts';
import type { OAuthServer } from '../oauth/server.ts';
import { BodyTooLarge, type BodyLimit } from './body-limit.ts';
import type { AcmeHttpRequest, SubResource } from './acme-https/pipeline.ts';

/** A token or introspection request is a few hundred bytes; a token to introspect a few KiB. */
const OAUTH_BODY: BodyLimit = { maxBytes: 16 * 1024 };

const json = (status: number, error: string, description: string, headers: Record<string, string> = {}): OAuthReply => ({
  status,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
  body: JSON.stringify({ error, error_description: description }),
});

/**
 * The OAuth endpoints on the TLS origin (../oauth/): POST /oauth/token, POST /oauth/introspect,
 * GET the JWKS and the RFC 8414 metadata. Answers go out `bare` (no ACME Replay-Nonce or Link).
 * `server` opens the token-signing key on first use; if that fails the endpoints answer 503.
 */
export function oauthResource(server: () => Promise<OAuthServer>): SubResource {
  return async (req) => {
    const reply = await route(req, server);
    return reply && { status: reply.status, headers: reply.headers, body: req.method === 'HEAD' ? null : reply.body, bare: true };
  };
}

async function route(req: AcmeHttpRequest, server: () => Promise<OAuthServer>): Promise<OAuthReply | null> {
  const { method, path } = req;
  const post = path === OAUTH_PATHS.token || path === OAUTH_PATHS.introspect;
  const get = path === OAUTH_PATHS.jwks || path === OAUTH_PATHS.metadata;
  if (!post && !get) return null;
  if (post && method !== 'POST') return json(405, 'invalid_request', `${path} takes POST (RFC 6749 §3.2)`, { Allow: 'POST' });
  if (get && method !== 'GET' && method !== 'HEAD') return json(405, 'invalid_request', `${path} takes GET`, { Allow: 'GET, HEAD' });
  let s: OAuthServer;
  try {
    s = await server();
  } catch (e) {
    return json(503, 'temporarily_unavailable', `the authorization server is not available: ${(e as Error).message}`, { 'Retry-After': '30' });
  }
  if (path === OAUTH_PATHS.metadata) return s.metadata();
  if (path === OAUTH_PATHS.jwks) return s.jwks();
  let body: Buffer;
  try {
    body = await req.body(OAUTH_BODY);
  } catch (e) {
    if (e instanceof BodyTooLarge) return json(413, 'invalid_request', e.message);
    throw e;
  }
  const r = { contentType: req.contentType, body, peerCertificate: req.peerCertificate?.() ?? null };
  return path === OAUTH_PATHS.token ? s.token(r) : s.introspect(r);
}
