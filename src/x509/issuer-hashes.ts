import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';

/** Hash algorithms a CertID may use, by OID, with their node:crypto names. */
export const CERT_ID_HASHES: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const SHA1_OID = '1.3.14.3.2.26';

/**
 * RFC 6960 §4.1.1: a CertID names its issuer by the hash of the issuer's DN and of its
 * public key BIT STRING contents. Precomputed for every supported hash so matching is a compare.
 */
export class IssuerHashes {
  readonly #byAlg = new Map<string, { name: Buffer; key: Buffer }>();

  constructor(issuerCertDer: Uint8Array) {
    const cert = AsnConvert.parse(issuerCertDer, asn1X509.Certificate);
    const name = Buffer.from(AsnConvert.serialize(cert.tbsCertificate.subject));
    const key = Buffer.from(cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
    for (const [oid, hash] of Object.entries(CERT_ID_HASHES)) {
      this.#byAlg.set(oid, { name: createHash(hash).update(name).digest(), key: createHash(hash).update(key).digest() });
    }
  }

  /** 'ours', 'other' (another issuer), or 'unsupported' (a hash we do not compute). */
  match(hashAlgorithm: string, issuerNameHash: Uint8Array, issuerKeyHash: Uint8Array): 'ours' | 'other' | 'unsupported' {
    const h = this.#byAlg.get(hashAlgorithm);
    if (!h) return 'unsupported';
    return h.name.equals(issuerNameHash) && h.key.equals(issuerKeyHash) ? 'ours' : 'other';
  }

  /** The hashes for one algorithm (to build CertIDs for pre-signed responses). */
  get(hashAlgorithm: string): { name: Buffer; key: Buffer } {
    return this.#byAlg.get(hashAlgorithm)!;
  }
}
