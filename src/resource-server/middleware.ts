import type { TLSSocket } from 'node:tls';
import type { Context, MiddlewareHandler } from 'hono';
import { AccessTokenError, type AccessTokenClaims, type AccessTokenVerifier, type Requirements } from './verifier.ts';

/** Per TLS connection, the peer certificate's DER, read once (getPeerCertificate builds a new object each call). */
const peerDer = new WeakMap<TLSSocket, Uint8Array | null>();

/** The client certificate of the connection under @hono/node-server (c.env.incoming is Node's IncomingMessage). */
export function nodePeerCertificate(c: Context): Uint8Array | null {
  const socket = (c.env as { incoming?: { socket?: TLSSocket } } | undefined)?.incoming?.socket;
  if (!socket || typeof socket.getPeerCertificate !== 'function') return null;
  let der = peerDer.get(socket);
  if (der === undefined) {
    const raw = socket.getPeerCertificate(false)?.raw;
    der = raw ? new Uint8Array(raw) : null;
    peerDer.set(socket, der);
  }
  return der;
}

/**
 * Hono middleware over AccessTokenVerifier: a request without a good token bound to its TLS client
 * certificate gets 401/403 with the RFC 6750 §3 challenge (RFC 9470 acr_values when the acr falls
 * short); a good one goes on with the claims at c.get('accessToken').
 */
export function requireAccessToken(verifier: AccessTokenVerifier, need: Requirements & { peerCertificate?: (c: Context) => Uint8Array | null } = {}): MiddlewareHandler<{ Variables: { accessToken: AccessTokenClaims } }> {
  const peer = need.peerCertificate ?? nodePeerCertificate;
  return async (c, next) => {
    try {
      c.set('accessToken', await verifier.verify(c.req.header('authorization'), peer(c), need));
    } catch (e) {
      if (!(e instanceof AccessTokenError)) throw e;
      c.header('WWW-Authenticate', e.challenge);
      c.header('Cache-Control', 'no-store');
      return c.json(e.error ? { error: e.error, error_description: e.description } : { error_description: e.description }, e.status as 400 | 401 | 403);
    }
    await next();
  };
}
