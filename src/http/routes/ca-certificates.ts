import { Hono } from 'hono';

/** The CA certificates of an opened instance, in the forms the routes serve. */
export function caCertificatesOf(ca: { root: { rawData: ArrayBuffer; toString(f: 'pem'): string }; intermediate: { rawData: ArrayBuffer; toString(f: 'pem'): string } }): CaCertificates {
  return {
    rootDer: new Uint8Array(ca.root.rawData),
    intermediateDer: new Uint8Array(ca.intermediate.rawData),
    rootPem: ca.root.toString('pem') + '\n',
    intermediatePem: ca.intermediate.toString('pem') + '\n',
  };
}

export interface CaCertificates {
  rootDer: Uint8Array;
  intermediateDer: Uint8Array;
  rootPem: string;
  intermediatePem: string;
}

/**
 * The CA certificates at stable URLs. `/ca/intermediate.crt` is the caIssuers URL
 * in every leaf's AIA: RFC 5280 §4.2.2.1 wants a DER certificate served as application/pkix-cert.
 */
export function caCertificateRoutes(certs: CaCertificates): Hono {
  const app = new Hono();
  const pem = (body: string) => new Response(body, { headers: { 'Content-Type': 'application/x-pem-file', 'Cache-Control': 'public, max-age=3600' } });
  const der = (body: Uint8Array) => new Response(body.slice(), { headers: { 'Content-Type': 'application/pkix-cert', 'Cache-Control': 'public, max-age=3600' } });
  app.get('/root.pem', () => pem(certs.rootPem));
  app.get('/intermediate.pem', () => pem(certs.intermediatePem));
  app.get('/chain.pem', () => pem(certs.intermediatePem + certs.rootPem));
  app.get('/root.crt', () => der(certs.rootDer));
  app.get('/intermediate.crt', () => der(certs.intermediateDer));
  return app;
}
