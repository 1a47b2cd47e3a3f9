import { readCsrStrict, type StrictCsr } from './csr-der.ts';
import { readCsrAsn1 } from './csr-asn1.ts';
import { readCsrGeneric } from './csr-generic.ts';
import { importStrictKey, subjectKeyIdOf, verifyCsrSignature } from './csr-key.ts';
import { judgeCsr } from './csr-policy.ts';
import type { CsrInfo, CsrParts } from './csr-types.ts';

export type { CsrInfo } from './csr-types.ts';

/**
 * Parses and checks a PKCS#10 request (PEM or DER): the signature must verify
 * with the enclosed key, the key must pass the key rules, and what it asks for
 * must pass the policy (csr-policy.ts). Every refusal is a CaError('badCsr' |
 * 'badKey' | 'rejectedIdentifier') with a reason.
 *
 * The usual request (DER or a CERTIFICATE REQUEST PEM, signed with ECDSA or RSA PKCS#1 v1.5
 * over SHA-2) takes the fast path: a strict DER reader (csr-der.ts) and the key imported from
 * JWK, one synchronous node:crypto verify. What the reader declines goes through the same
 * @peculiar/asn1-csr decoding @peculiar/x509 does (csr-asn1.ts), with the same verify; anything
 * else (another signature algorithm, input neither can decode) through the generic
 * @peculiar/x509 + WebCrypto path (csr-generic.ts), which gives the verdict. Each path only reads
 * the request; one policy judges it, whichever read it.
 */
export async function parseCsr(input: Uint8Array | string): Promise<CsrInfo> {
  const fast = parseCsrFast(input);
  return fast ?? parseCsrGeneric(input);
}

const PEM_CSR = /^\s*-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]*)-----END (?:NEW )?CERTIFICATE REQUEST-----\s*$/;

/**
 * The fast path; null when it does not apply (the generic path then decides, including every
 * refusal of input that does not decode). Throws the same CaErrors as the generic path otherwise.
 */
export function parseCsrFast(input: Uint8Array | string): CsrInfo | null {
  const der = csrDer(input);
  if (!der) return null;
  const strict = readCsrStrict(der);
  return strict ? judgeCsr(strictParts(der, strict)) : parseCsrAsn1(der);
}

/** The asn1-schema path alone, judged; null when it does not apply. */
export function parseCsrAsn1(der: Uint8Array): CsrInfo | null {
  const parts = readCsrAsn1(der);
  return parts && judgeCsr(parts);
}

/** The generic path alone, judged. */
export async function parseCsrGeneric(input: Uint8Array | string): Promise<CsrInfo> {
  return judgeCsr(await readCsrGeneric(input));
}

/** DER from a DER input or a CERTIFICATE REQUEST PEM; null for any other text. */
function csrDer(input: Uint8Array | string): Uint8Array | null {
  if (typeof input !== 'string') return input;
  const m = PEM_CSR.exec(input);
  return m ? new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : null;
}

/** The strictly read request: the key rules, then one verify. */
function strictParts(der: Uint8Array, s: StrictCsr): CsrParts {
  const { alg: keyAlg, key } = importStrictKey(s.key, s.spki);
  verifyCsrSignature(key, s.signatureKeyType, s.signatureHash, s.info, s.signature);
  const { commonName, extensionRequests, extensions } = s;
  return { der: new Uint8Array(der), publicKeySpki: s.spki, keyAlg, commonName, extensionRequests, extensions, subjectKeyId: subjectKeyIdOf(s.subjectPublicKey) };
}
