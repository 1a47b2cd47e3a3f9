import { CaError } from './errors.ts';

/** Key algorithms a CA key (and the key rules for leaves) may use. */
export const KEY_ALGS = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
/** The transparency log's checkpoint key (C2SP signed-note verifiers take Ed25519): never a CA or leaf key. */
export const LOG_KEY_ALG = 'ed25519';
export type KeyAlg = (typeof KEY_ALGS)[number];
/** What a key store may hold: the CA algorithms and the log key's. */
export type StoredKeyAlg = KeyAlg | typeof LOG_KEY_ALG;

export function parseKeyAlg(text: string): KeyAlg {
  if ((KEY_ALGS as readonly string[]).includes(text)) return text as KeyAlg;
  throw new CaError('malformed', `unknown key algorithm "${text}": use one of ${KEY_ALGS.join(', ')}`);
}

/** Node `generateKeyPair` arguments for an algorithm. */
export function nodeKeyGenParams(alg: KeyAlg): { type: 'ec'; namedCurve: string } | { type: 'rsa'; modulusLength: number; publicExponent: number } {
  switch (alg) {
    case 'ecdsa-p256':
      return { type: 'ec', namedCurve: 'P-256' };
    case 'ecdsa-p384':
      return { type: 'ec', namedCurve: 'P-384' };
    default:
      return { type: 'rsa', modulusLength: Number(alg.slice(4)), publicExponent: 65537 };
  }
}

/** The hash each key signs with: P-384 pairs with SHA-384, everything else with SHA-256. */
export function hashFor(alg: KeyAlg): 'SHA-256' | 'SHA-384' {
  return alg === 'ecdsa-p384' ? 'SHA-384' : 'SHA-256';
}

/** WebCrypto import/sign parameters for a key algorithm (for providers that need a CryptoKey). */
export function webCryptoParams(alg: KeyAlg): { importParams: EcKeyImportParams | RsaHashedImportParams; signParams: EcdsaParams | AlgorithmIdentifier } {
  const hash = hashFor(alg);
  if (alg.startsWith('ecdsa')) {
    return { importParams: { name: 'ECDSA', namedCurve: alg === 'ecdsa-p256' ? 'P-256' : 'P-384' }, signParams: { name: 'ECDSA', hash } };
  }
  return { importParams: { name: 'RSASSA-PKCS1-v1_5', hash }, signParams: { name: 'RSASSA-PKCS1-v1_5' } };
}

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
};

/**
 * The X.509 signatureAlgorithm for signatures made by a key of `alg`.
 * Per RFC 5758 §3.2 ECDSA identifiers have absent parameters; per RFC 4055 RSA ones carry NULL.
 */
export function signatureAlgorithmFor(alg: KeyAlg): { algorithm: string; parameters?: ArrayBuffer | null } {
  if (alg === 'ecdsa-p256') return { algorithm: OID.ecdsaWithSHA256 };
  if (alg === 'ecdsa-p384') return { algorithm: OID.ecdsaWithSHA384 };
  return { algorithm: OID.sha256WithRSAEncryption, parameters: new Uint8Array([0x05, 0x00]).buffer };
}

/** Derives the KeyAlg of a public key from Node's key details; null when it is not one we use. */
export function keyAlgOf(details: { type?: string; namedCurve?: string; modulusLength?: number }): KeyAlg | null {
  if (details.type === 'ec') {
    if (details.namedCurve === 'prime256v1' || details.namedCurve === 'P-256') return 'ecdsa-p256';
    if (details.namedCurve === 'secp384r1' || details.namedCurve === 'P-384') return 'ecdsa-p384';
    return null;
  }
  if (details.type === 'rsa') {
    const name = `rsa-${details.modulusLength}`;
    return (KEY_ALGS as readonly string[]).includes(name) ? (name as KeyAlg) : null;
  }
  return null;
}
