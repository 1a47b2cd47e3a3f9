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

/**
 * The transparency log's Ed25519 key (#17): signs checkpoint notes (C2SP signed-note, RFC 8032
 * pure Ed25519), never anything X.509. Key stores hand it out through `getLogSigner`.
 */
export interface LogSigner {
  readonly label: string;
  readonly alg: 'ed25519';
  readonly publicKeySpki: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}
