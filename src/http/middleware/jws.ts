import type { MiddlewareHandler } from 'hono';
import type { IncomingMessage } from 'node:http';
import type { AcmeContext } from '../../acme/context.ts';
import { malformed, payloadTooLarge } from '../../acme/problems.ts';
import { verifyAcmeRequest, type VerifiedRequest } from '../../acme/request.ts';

export type AcmeEnv = { Variables: { acme: VerifiedRequest; requestId?: string }; Bindings: { incoming?: IncomingMessage } };

/** Largest JWS accepted: CSRs with 100 names and RSA-4096 keys fit well within it. */
export const MAX_JWS_BYTES = 64 * 1024;

/**
 * The request body as text. Under @hono/node-server it is read straight from Node's
 * IncomingMessage (building a WHATWG Request per POST costs more than the JWS check);
 * elsewhere (in-process tests) from the Request. Either way capped (413).
 */
async function bodyText(incoming: IncomingMessage | undefined, fallback: () => Promise<string>): Promise<string> {
  if (!incoming || incoming.readableEnded) return fallback();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_JWS_BYTES) return void chunks.push(chunk);
      // Stop collecting but keep the socket: the rest is discarded so the 413 can still be sent.
      incoming.off('data', onData).off('end', onEnd).resume();
      reject(payloadTooLarge(`request bodies are limited to ${MAX_JWS_BYTES} bytes`));
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString('utf8'));
    incoming.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

export function verifiedJws(ctx: AcmeContext, keyMode: 'jwk' | 'kid' | 'either' = 'kid'): MiddlewareHandler<AcmeEnv> {
  return async (c, next) => {
    let body: unknown;
    try {
      body = JSON.parse(await bodyText(c.env?.incoming, () => c.req.text()));
    } catch (e) {
      if ((e as { status?: number }).status === 413) throw e;
      throw malformed('the request body is not JSON');
    }
    c.set('acme', await verifyAcmeRequest(ctx, body, c.req.path, keyMode));
    await next();
  };
}
