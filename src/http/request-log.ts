import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../domain/log.ts';

/** A request being served: its id (echoed as X-Request-Id) and when it started. */
export interface RequestStart {
  id: string;
  at: number;
}

export const startRequest = (): RequestStart => ({ id: randomUUID(), at: performance.now() });

/** What a refused request was told (RFC 7807): logged with its line, so a 4xx says why without the client's help. */
export interface LoggedProblem {
  type: string;
  detail: string;
}

/**
 * The one `http.request` line per request, with the same fields for the plain-HTTP app and the
 * ACME pipeline; an answer of 400 or more carries the problem type and detail it was given.
 */
export function logRequest(logger: Logger, start: RequestStart, method: string, path: string, status: number, problem?: LoggedProblem): void {
  logger.info('http.request', {
    requestId: start.id,
    method,
    path,
    status,
    ms: Math.round((performance.now() - start.at) * 100) / 100,
    ...(status >= 400 && problem ? { problem: problem.type, detail: problem.detail } : {}),
  });
}

/** The type and detail of a problem document body (application/problem+json), or undefined if it is not one. */
export function problemOfBody(body: string | Uint8Array | null): LoggedProblem | undefined {
  if (body === null) return undefined;
  try {
    const p = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as { type?: unknown; detail?: unknown };
    return typeof p.type === 'string' ? { type: p.type, detail: typeof p.detail === 'string' ? p.detail : '' } : undefined;
  } catch {
    return undefined;
  }
}

/** The request log of the plain-HTTP (Hono) app; the ACME pipeline calls the same two functions itself. */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = startRequest();
    await next();
    c.res.headers.set('X-Request-Id', start.id);
    const problem = c.res.status >= 400 && c.res.headers.get('Content-Type')?.startsWith('application/problem+json') ? problemOfBody(await c.res.clone().text()) : undefined;
    logRequest(logger, start, c.req.method, c.req.path, c.res.status, problem);
  };
}
