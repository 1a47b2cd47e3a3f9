import type { MiddlewareHandler } from 'hono';
import { unsupportedMediaType } from '../../acme/problems.ts';

/** RFC 8555 §6.2: a JWS-carrying POST must be application/jose+json; anything else is 415. */
export function requireJoseJson(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'POST') {
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/jose+json') throw unsupportedMediaType(`Content-Type must be application/jose+json, not "${type || 'none'}"`);
    }
    await next();
  };
}
