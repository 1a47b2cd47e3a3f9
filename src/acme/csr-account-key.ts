import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import { oidText, readTlv } from '../domain/der.ts';
import type { AcmeStore } from '../store/acme-store.ts';
import { x509 } from '../x509/x509.ts';
import { publicJwk, thumbprint } from './jws.ts';
import { badCsr, isAcmeProblem } from './problems.ts';

/**
 * RFC 8555 §11.1: the server MUST refuse a CSR whose public key is the key of an ACME account,
 * the requester's or any other (in any status). The CSR's key is turned into its RFC 7638
 * thumbprint and looked up on the accounts' unique thumbprint index; account JWKs are canonical
 * (jws.ts importAccountKey), so the same key always gives the same thumbprint.
 */
export async function refuseAccountKeyCsr(store: AcmeStore, csrDer: Uint8Array): Promise<void> {
  const spki = spkiOf(csrDer);
  let jwk: JWK;
  try {
    jwk = uncompressedEcJwk(spki) ?? (createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as JsonWebKey as JWK);
  } catch {
    return; // a key node cannot read is no account key; the authority judges the CSR
  }
  let print: string;
  try {
    print = await thumbprint(publicJwk(jwk));
  } catch (e) {
    if (isAcmeProblem(e)) return; // a key type no account can have (publicJwk refuses it)
    throw e;
  }
  if (store.accounts.byThumbprint(print)) throw badCsr('the CSR public key is an ACME account key: certificates need a key of their own (RFC 8555 §11.1)');
}

/** The SubjectPublicKeyInfo bytes: CertificationRequest → info → (version, subject, SPKI); a full parse when the walk fails. */
function spkiOf(der: Uint8Array): Uint8Array {
  const outer = readTlv(der, 0, der.length);
  const info = outer?.tag === 0x30 ? readTlv(der, outer.start, outer.end) : null;
  const version = info?.tag === 0x30 ? readTlv(der, info.start, info.end) : null;
  const subject = version?.tag === 0x02 ? readTlv(der, version.end, info!.end) : null;
  const spki = subject?.tag === 0x30 ? readTlv(der, subject.end, info!.end) : null;
  if (spki?.tag === 0x30) return der.subarray(subject!.end, spki.end);
  try {
    return new Uint8Array(new x509.Pkcs10CertificateRequest(der as Uint8Array<ArrayBuffer>).publicKey.rawData);
  } catch {
    throw badCsr('the CSR is not a readable PKCS#10 request');
  }
}

const EC_CURVES: Record<string, { crv: string; size: number }> = { '1.2.840.10045.3.1.7': { crv: 'P-256', size: 32 }, '1.3.132.0.34': { crv: 'P-384', size: 48 } };

/** The JWK of an uncompressed P-256/P-384 key read straight from its SPKI (the usual CSR), else null. */
function uncompressedEcJwk(spki: Uint8Array): JWK | null {
  const seq = readTlv(spki, 0, spki.length);
  const alg = seq?.tag === 0x30 ? readTlv(spki, seq.start, seq.end) : null;
  const oid = alg?.tag === 0x30 ? readTlv(spki, alg.start, alg.end) : null;
  const params = oid?.tag === 0x06 ? readTlv(spki, oid.end, alg!.end) : null;
  const bits = params?.tag === 0x06 && params.end === alg!.end ? readTlv(spki, alg!.end, seq!.end) : null;
  if (!bits || bits.tag !== 0x03 || bits.end !== seq!.end || oidText(spki, oid!.start, oid!.end) !== '1.2.840.10045.2.1') return null;
  const curve = EC_CURVES[oidText(spki, params!.start, params!.end) ?? ''];
  if (!curve || bits.end - bits.start !== 2 + 2 * curve.size || spki[bits.start] !== 0 || spki[bits.start + 1] !== 0x04) return null;
  const x = Buffer.from(spki.subarray(bits.start + 2, bits.start + 2 + curve.size)).toString('base64url');
  const y = Buffer.from(spki.subarray(bits.start + 2 + curve.size, bits.end)).toString('base64url');
  return { kty: 'EC', crv: curve.crv, x, y };
}
