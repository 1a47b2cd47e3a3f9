import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../domain/log.ts';

/** A request being served: its id (echoed as X-Request-Id) and when it started. */
export interface RequestStart {
  id: string;
  at: number;
}

export const startRequest = (): RequestStart => ({ id: randomUUID(), at: performance.now() });

/** The one `http.request` line per request, with the same fields for the plain-HTTP app and the ACME pipeline. */
export function logRequest(logger: Logger, start: RequestStart, method: string, path: string, status: number): void {
  logger.info('http.request', { requestId: start.id, method, path, status, ms: Math.round((performance.now() - start.at) * 100) / 100 });
}

/** The request log of the plain-HTTP (Hono) app; the ACME pipeline calls the same two functions itself. */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = startRequest();
    await next();
    c.res.headers.set('X-Request-Id', start.id);
    logRequest(logger, start, c.req.method, c.req.path, c.res.status);
  };
}
