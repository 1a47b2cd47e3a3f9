import { webcrypto } from 'node:crypto';
import type { Identifier } from '../../domain/types.ts';
import { parseIdentifier } from '../../domain/identifiers.ts';
import { x509 } from '../../x509/x509.ts';

/** What issuing the server's own certificate needs from the authority. */
export interface SelfIssuer {
  issue(csr: string, opts: { profile: string; identifiers: Identifier[]; actor: string }): Promise<{ chainPem: string; notBefore: Date; notAfter: Date }>;
}

export interface ServerCertificate {
  keyPem: string;
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * A fresh P-256 key and a certificate for the ACME listener's hostnames, issued by
 * our own intermediate (profile "server") through the authority like any other leaf.
 */
export async function issueServerCertificate(authority: SelfIssuer, hostnames: string[]): Promise<ServerCertificate> {
  const identifiers = hostnames.map(parseIdentifier);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: '',
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension(identifiers.map((i) => ({ type: i.type === 'uri' ? ('url' as const) : i.type, value: i.value })))],
  });
  const issued = await authority.issue(csr.toString('pem'), { profile: 'server', identifiers, actor: 'acme:tls-listener' });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { keyPem, chainPem: issued.chainPem, notBefore: issued.notBefore, notAfter: issued.notAfter };
}

/** When to renew: two thirds into the lifetime (never sooner than a minute from now). */
export function renewDelayMs(cert: ServerCertificate, now: Date): number {
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  const at = cert.notBefore.getTime() + (life * 2) / 3;
  return Math.max(60_000, at - now.getTime());
}
