import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../domain/log.ts';

/**
 * Gives every request of the plain-HTTP app an id, echoed as X-Request-Id, and logs one JSON
 * line when it completes (the ACME pipeline does the same itself: ../acme/pipeline.ts).
 */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const requestId = randomUUID();
    const start = performance.now();
    await next();
    c.res.headers.set('X-Request-Id', requestId);
    logger.info('http.request', {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 100) / 100,
    });
  };
}
