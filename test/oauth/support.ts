import { request } from 'node:https';
import { makeCsr } from '../helpers/ca.ts';
import type { CaInstance } from '../../src/index.ts';

/** A client certificate from the test CA: PEM chain, key, DER and serial. */
export interface ClientCert {
  certPem: string;
  keyPem: string;
  der: Uint8Array;
  serial: string;
}

export async function clientCert(ca: CaInstance, o: { spiffe?: string; dns?: string; profile?: string; lifetimeMs?: number } = {}): Promise<ClientCert> {
  const sans = [...(o.spiffe ? [{ type: 'url' as const, value: o.spiffe }] : []), ...(o.dns ? [{ type: 'dns' as const, value: o.dns }] : [])];
  const csr = await makeCsr({ sans });
  const issued = await ca.authority.issue(csr.pem, { profile: o.profile ?? 'default', lifetimeMs: o.lifetimeMs });
  return { certPem: issued.chainPem, keyPem: csr.keyPem, der: issued.der, serial: issued.serial };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

/** One HTTPS request to the test listener, optionally with a client certificate (mTLS). */
export function call(url: string, o: { method?: string; body?: string | Buffer; contentType?: string | null; cert?: ClientCert; ca: string; headers?: Record<string, string> }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.contentType !== null) headers['Content-Type'] = o.contentType ?? 'application/x-www-form-urlencoded';
    const req = request(url, { method: o.method ?? 'POST', ca: o.ca, cert: o.cert?.certPem, key: o.cert?.keyPem, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          /* not JSON: the test looks at text */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** The claims of a compact JWS, unverified (tests verify separately). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
export function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
