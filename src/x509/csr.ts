import { readCsrStrict, type StrictCsr } from './csr-der.ts';
import { requireDerCsr } from './csr-der-check.ts';
import { readCsrAsn1 } from './csr-asn1.ts';
import { readCsrGeneric } from './csr-generic.ts';
import { importStrictKey, subjectKeyIdOf, verifyCsrSignature } from './csr-key.ts';
import { judgeCsr } from './csr-policy.ts';
import type { CsrInfo, CsrParts } from './csr-types.ts';
import { CaError } from '../domain/errors.ts';

export type { CsrInfo } from './csr-types.ts';

/**
 * Parses and checks a PKCS#10 request (PEM or DER): the signature must verify
 * with the enclosed key, the key must pass the key rules, and what it asks for
 * must pass the policy (csr-policy.ts). Every refusal is a CaError('badCsr' |
 * 'badKey' | 'rejectedIdentifier') with a reason.
 *
 * First the input must be DER (or a CERTIFICATE REQUEST PEM around DER): csr-der-check.ts walks
 * it once, so no parser below sees BER and each is as strict as the strictest. The usual request
 * (signed with ECDSA or RSA PKCS#1 v1.5 over SHA-2) takes the fast path: a strict DER reader
 * (csr-der.ts) and the key imported from JWK, one synchronous node:crypto verify. What the reader
 * declines goes through the same @peculiar/asn1-csr decoding @peculiar/x509 does (csr-asn1.ts),
 * with the same verify; anything else (another signature algorithm) through the generic
 * @peculiar/x509 + WebCrypto path (csr-generic.ts), which gives the verdict. Each path only reads
 * the request; one policy judges it, whichever read it.
 */
export async function parseCsr(input: Uint8Array | string): Promise<CsrInfo> {
  const der = derCsr(input);
  return readFast(der) ?? judgeCsr(await readCsrGeneric(der));
}

/** RFC 7468 §7 (and the `NEW` label older tools write); text around the block is explanatory (§2: `openssl req -text`). */
const PEM_CSR = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]*)-----END \1CERTIFICATE REQUEST-----/g;

/**
 * The fast path (DER gate, then the strict reader or the asn1-schema path); null when neither
 * applies. Throws the same CaErrors as parseCsr otherwise.
 */
export function parseCsrFast(input: Uint8Array | string): CsrInfo | null {
  return readFast(derCsr(input));
}

/** The asn1-schema path alone (behind the DER gate), judged; null when it does not apply. */
export function parseCsrAsn1(der: Uint8Array): CsrInfo | null {
  requireDerCsr(der);
  const parts = readCsrAsn1(der);
  return parts && judgeCsr(parts);
}

/** The generic path alone (behind the DER gate), judged. */
export async function parseCsrGeneric(input: Uint8Array | string): Promise<CsrInfo> {
  return judgeCsr(await readCsrGeneric(derCsr(input)));
}

function readFast(der: Uint8Array): CsrInfo | null {
  const strict = readCsrStrict(der);
  if (strict) return judgeCsr(strictParts(der, strict));
  const parts = readCsrAsn1(der);
  return parts && judgeCsr(parts);
}

/** DER from a DER input or a CERTIFICATE REQUEST PEM, checked to be DER; CaError('badCsr') for anything else. */
function derCsr(input: Uint8Array | string): Uint8Array {
  let der: Uint8Array;
  if (typeof input === 'string') {
    const blocks = [...input.matchAll(PEM_CSR)];
    if (blocks.length !== 1) throw new CaError('badCsr', blocks.length ? 'the PEM holds more than one CERTIFICATE REQUEST' : 'the CSR is neither DER nor a PEM CERTIFICATE REQUEST');
    der = new Uint8Array(Buffer.from(blocks[0]![2]!.replace(/\s+/g, ''), 'base64'));
  } else {
    der = input;
  }
  requireDerCsr(der);
  return der;
}

/** The strictly read request: the key rules, then one verify. */
function strictParts(der: Uint8Array, s: StrictCsr): CsrParts {
  const { alg: keyAlg, key } = importStrictKey(s.key, s.spki);
  verifyCsrSignature(key, s.signatureKeyType, s.signatureHash, s.info, s.signature);
  const { commonName, extensionRequests, extensions } = s;
  return { der: new Uint8Array(der), publicKeySpki: s.spki, keyAlg, commonName, extensionRequests, extensions, subjectKeyId: subjectKeyIdOf(s.subjectPublicKey) };
}
