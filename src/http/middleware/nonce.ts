import type { MiddlewareHandler } from 'hono';
import type { AcmeLinks } from '../../acme/links.ts';
import type { NonceService } from '../../acme/nonces.ts';

/**
 * RFC 8555 §6.5 and §7.1: every response, errors included, carries a fresh
 * Replay-Nonce and Link rel="index" to the directory; none may be cached (§6.7 / §7.2).
 */
export function replayNonceAndIndex(nonces: NonceService, links: AcmeLinks): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res.headers.set('Replay-Nonce', nonces.issue());
    c.res.headers.append('Link', `<${links.directory}>;rel="index"`);
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  };
}
