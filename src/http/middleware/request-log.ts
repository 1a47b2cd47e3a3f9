import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../log.ts';

export type RequestLogEnv = { Variables: { requestId?: string } };

/**
 * Gives every request an id and logs one JSON line when it completes. The id is echoed as
 * X-Request-Id: set on the response here, unless the app builds its responses with it already
 * (`echo: false`, the ACME app's AcmeResponder reads `c.var.requestId`).
 */
export function requestLog(logger: Logger, o: { echo?: boolean } = {}): MiddlewareHandler<RequestLogEnv> {
  const echo = o.echo ?? true;
  return async (c, next) => {
    const requestId = randomUUID();
    const start = performance.now();
    c.set('requestId', requestId);
    await next();
    if (echo) c.res.headers.set('X-Request-Id', requestId);
    logger.info('http.request', {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 100) / 100,
    });
  };
}
