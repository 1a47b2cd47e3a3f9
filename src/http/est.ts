import { EstError } from '../est/errors.ts';
import type { EstService } from '../est/service.ts';
import { BodyTooLarge, type BodyLimit } from './body-limit.ts';
import type { SubResource } from './acme-https/pipeline.ts';

const PREFIX = '/.well-known/est/';
/** A PKCS#10 request with 100 names and an RSA-4096 key is well under this, base64 included. */
const EST_BODY: BodyLimit = { maxBytes: 64 * 1024 };

/**
 * EST (RFC 7030 §3.2.2: /.well-known/est/<operation>) on the TLS origin, answered without the ACME
 * headers. The TLS client certificate (asked for, never required) is handed to simplereenroll.
 */
export function estResource(est: EstService): SubResource {
  return async (req) => {
    if (!req.path.startsWith(PREFIX)) return null;
    const reply = await est.handle({
      method: req.method,
      operation: req.path.slice(PREFIX.length),
      contentType: req.contentType,
      authorization: req.header?.('authorization'),
      peerCertificate: () => req.peerCertificate?.() ?? null,
      remoteAddress: req.remoteAddress,
      body: async () => {
        try {
          return await req.body(EST_BODY);
        } catch (e) {
          if (e instanceof BodyTooLarge) throw new EstError(413, 'tooLarge', `the request body is larger than ${EST_BODY.maxBytes} bytes`);
          throw e;
        }
      },
    });
    return { status: reply.status, headers: reply.headers, body: reply.body, bare: true };
  };
}
