import type { KeyAlg } from './algorithms.ts';

/**
 * A signing key held by a key store. `sign` takes the exact bytes to be signed
 * (a TBSCertificate, TBSCertList, ResponseData) and returns the signature as
 * X.509 expects it (DER ECDSA-Sig-Value, or PKCS#1 v1.5 for RSA), so any encoder
 * can produce the bytes and one call signs them.
 */
export interface Signer {
  readonly label: string;
  readonly alg: KeyAlg;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKeySpki: Uint8Array;
  sign(tbs: Uint8Array): Promise<Uint8Array>;
  /** For libraries that insist on a WebCrypto key: the (non-extractable) key and the provider it belongs to. */
  readonly cryptoKey?: { key: CryptoKey; crypto: Crypto };
}
