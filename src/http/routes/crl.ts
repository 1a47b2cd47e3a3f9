import { Hono } from 'hono';
import type { PublishedCrl } from '../../status/crl-publisher.ts';

/** What the CRL routes need: the issuer they serve and its current shards. */
export interface CrlSource {
  issuerKeyId: string;
  current(shard: number): PublishedCrl | null;
}

/**
 * CRL shards at the URLs certificates name in their CDP: `/crl/<issuerKeyId>/<shard>.crl`
 * (DER, application/pkix-crl per RFC 5280 §4.2.1.13) and `.pem` beside it (label X509 CRL).
 */
export function crlRoutes(source: CrlSource): Hono {
  const app = new Hono();
  app.get('/:issuer/:file', (c) => {
    const m = /^(\d{1,4})\.(crl|pem)$/.exec(c.req.param('file'));
    if (c.req.param('issuer') !== source.issuerKeyId || !m) return c.text('not found\n', 404);
    const crl = source.current(Number(m[1]));
    if (!crl) return c.text('not found\n', 404);
    const maxAge = Math.max(0, Math.floor((crl.nextUpdate.getTime() - Date.now()) / 1000));
    const headers = {
      'Cache-Control': `max-age=${Math.min(maxAge, 3600)}, public, no-transform`,
      'Last-Modified': crl.thisUpdate.toUTCString(),
      Expires: crl.nextUpdate.toUTCString(),
      ETag: m[2] === 'crl' ? crl.etag : crl.etag.replace(/"$/, '-pem"'),
    };
    if (c.req.header('if-none-match') === headers.ETag) return c.body(null, 304, headers);
    if (m[2] === 'pem') return c.body(crl.pem, 200, { ...headers, 'Content-Type': 'application/x-pem-file' });
    return c.body(new Uint8Array(crl.der), 200, { ...headers, 'Content-Type': 'application/pkix-crl' });
  });
  return app;
}
