import type { MiddlewareHandler } from 'hono';
import type { AcmeContext } from '../../acme/context.ts';
import { malformed } from '../../acme/problems.ts';
import { verifyAcmeRequest, type VerifiedRequest } from '../../acme/request.ts';

export type AcmeEnv = { Variables: { acme: VerifiedRequest } };

/**
 * Parses and verifies the JWS of an ACME POST (RFC 8555 §6.2–§6.5) before any
 * handler runs; the handler reads the verified request from `c.var.acme`.
 * `keyMode`: newAccount demands jwk, revokeCert takes either, the rest kid.
 */
export function verifiedJws(ctx: AcmeContext, keyMode: 'jwk' | 'kid' | 'either' = 'kid'): MiddlewareHandler<AcmeEnv> {
  return async (c, next) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw malformed('the request body is not JSON');
    }
    c.set('acme', await verifyAcmeRequest(ctx, body, c.req.path, keyMode));
    await next();
  };
}
