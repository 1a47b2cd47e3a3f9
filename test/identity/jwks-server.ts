import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { x509 } from '../../src/x509/x509.ts';

/** A self-signed certificate for 127.0.0.1, its key and its PEM (what --jwks-ca is given). */
async function loopbackCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=jwks test',
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]), new x509.BasicConstraintsExtension(true, undefined, true)],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { certPem: cert.toString('pem'), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}

/** An HTTPS JWKS endpoint on loopback whose document can change and which can go down (503 or reset). */
export interface JwksServer {
  url: string;
  caPem: string;
  /** The JWKS document served. */
  jwks: string;
  /** When set, requests fail this way instead of being answered. */
  down: 'status' | 'reset' | null;
  /** Requests received (answered or not). */
  requests: number;
  close(): Promise<void>;
}

export async function startJwksServer(jwks: string): Promise<JwksServer> {
  const { certPem, keyPem } = await loopbackCertificate();
  const state = { jwks, down: null as JwksServer['down'], requests: 0 };
  const server: Server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    state.requests++;
    if (state.down === 'reset') return req.socket.destroy();
    if (state.down === 'status') {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(state.jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.defineProperties(
    { url: `https://127.0.0.1:${port}/openid/v1/jwks`, caPem: certPem, close: () => new Promise<void>((resolve) => server.close(() => resolve())) } as JwksServer,
    {
      jwks: { get: () => state.jwks, set: (v: string) => (state.jwks = v) },
      down: { get: () => state.down, set: (v: JwksServer['down']) => (state.down = v) },
      requests: { get: () => state.requests },
    },
  );
}
