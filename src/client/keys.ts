import { createPrivateKey, createPublicKey, generateKeyPair, webcrypto, type KeyObject } from 'node:crypto';
import type { Identifier } from '../domain/types.ts';
import { hashFor, nodeKeyGenParams, webCryptoParams, type KeyAlg } from '../domain/algorithms.ts';
import { x509 } from '../x509/x509.ts';

/** A new private key as unencrypted PKCS#8 PEM (written 0600: the workload must read it unattended). */
export function generateKeyPem(alg: KeyAlg): Promise<string> {
  const params = nodeKeyGenParams(alg);
  return new Promise((resolve, reject) =>
    generateKeyPair(params.type as 'ec', params as { namedCurve: string }, (err, _pub, priv: KeyObject) =>
      err ? reject(err) : resolve(priv.export({ type: 'pkcs8', format: 'pem' }) as string),
    ),
  );
}

/** A PKCS#10 request for `identifiers` signed by `keyPem`; the first DNS name (if any) is also the CN. */
export async function createCsr(keyPem: string, alg: KeyAlg, identifiers: Identifier[]): Promise<string> {
  const key = createPrivateKey(keyPem);
  const { importParams } = webCryptoParams(alg);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, importParams, false, ['sign']);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, importParams, true, ['verify']);
  const dns = identifiers.find((i) => i.type === 'dns');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: dns ? `CN=${dns.value}` : '',
    keys: { privateKey, publicKey } as CryptoKeyPair,
    signingAlgorithm: { ...importParams, hash: hashFor(alg) } as Algorithm & { hash: string },
    extensions: [new x509.SubjectAlternativeNameExtension(identifiers.map((i) => ({ type: i.type === 'uri' ? ('url' as const) : i.type, value: i.value })))],
  });
  return csr.toString('pem');
}
