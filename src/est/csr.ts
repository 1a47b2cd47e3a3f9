import { isCaError } from '../domain/errors.ts';
import { canonicalSet, parseIdentifier } from '../domain/identifiers.ts';
import type { Identifier } from '../domain/types.ts';
import { parseCsr, type CsrInfo } from '../x509/csr.ts';
import { readCsrStrict } from '../x509/csr-der.ts';
import { requireDerCsr } from '../x509/csr-der-check.ts';
import { subjectKeyIdOf } from '../x509/csr-key.ts';
import { judgeCsr } from '../x509/csr-policy.ts';
import { estBadRequest, estForbidden, EstError } from './errors.ts';

/** What EST checks of a request before the authority sees it: the exact bytes, the names, the key. */
export type EstCsr = Pick<CsrInfo, 'der' | 'publicKeySpki' | 'commonName' | 'sans'>;

/**
 * The body of simpleenroll / simplereenroll (RFC 7030 §4.2.1): base64 (RFC 4648 §4, line breaks
 * allowed, §3.2.4 Content-Transfer-Encoding: base64) of a DER PKCS#10 request. Anything else is 400
 * with what was wrong.
 *
 * EST only compares the request's names and key with what the credential or the current
 * certificate allows, then hands these same bytes to the authority, which reads them in full
 * (DER gate, key rules, RFC 2986 §4.2 signature, policy) before anything is reserved or signed
 * (Authority.issue → parseCsr). So the usual request (an EC key, strict DER) is read here without
 * importing its key or verifying its signature: that check runs once, in the authority, not twice
 * (~140 µs a renewal). A request the strict reader declines, or with an RSA key, is read in full here too.
 */
export async function readEstCsr(body: Buffer): Promise<EstCsr> {
  const text = body.toString('latin1').replace(/[\r\n\t ]/g, '');
  if (text.length === 0) throw estBadRequest('the body is empty: send the base64 DER of a PKCS#10 request');
  if (text.startsWith('-----BEGIN')) throw estBadRequest('send the base64 DER of the PKCS#10 request without PEM armour (RFC 7030 §4.2.1)');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 === 1) throw estBadRequest('the body is not base64 (RFC 7030 §4.2.1: base64 DER PKCS#10)');
  const der = new Uint8Array(Buffer.from(text, 'base64'));
  try {
    return namesAndKey(der) ?? (await parseCsr(der));
  } catch (e) {
    throw asEstError(e);
  }
}

/** The strict reader's names and key, judged by the one CSR policy; null when it does not apply (the full read decides). */
function namesAndKey(der: Uint8Array): EstCsr | null {
  requireDerCsr(der);
  const s = readCsrStrict(der);
  if (!s || s.key.type !== 'ec') return null;
  const keyAlg = s.key.curve === 'P-256' ? 'ecdsa-p256' : 'ecdsa-p384';
  const { sans, commonName } = judgeCsr({ der, publicKeySpki: s.spki, keyAlg, commonName: s.commonName, extensionRequests: s.extensionRequests, extensions: s.extensions, subjectKeyId: subjectKeyIdOf(s.subjectPublicKey) });
  return { der, publicKeySpki: s.spki, commonName, sans };
}

/** The names a CSR asks for: its SANs plus a CN that is a name (as the authority reads it, authority/leaf.ts). */
export function csrIdentifiers(info: Pick<CsrInfo, 'sans' | 'commonName'>): Identifier[] {
  const ids = [...info.sans];
  if (info.commonName !== null) {
    try {
      ids.push(parseIdentifier(info.commonName));
    } catch {
      // A CN that is no identifier is not a name the certificate gets; the authority decides about it.
    }
  }
  return canonicalSet(ids).map(parseIdentifier);
}

/** The authority's CaErrors about a request as EST statuses: the CSR's fault is 400, a name refused is 403; the rest is not the client's. */
export function asEstError(e: unknown): unknown {
  if (e instanceof EstError || !isCaError(e)) return e;
  switch (e.kind) {
    case 'badCsr':
    case 'badKey':
    case 'malformed':
      return estBadRequest(`bad CSR: ${e.detail}`);
    case 'rejectedIdentifier':
    case 'unauthorized':
      return estForbidden('rejectedIdentifier', e.detail);
    // The CA signs nothing for now (its log is being checked, or does not match, #17/#21): 503, with Retry-After when it passes by itself.
    case 'unavailable':
      return new EstError(503, 'unavailable', e.detail, e.retryAfterS !== undefined ? { 'Retry-After': String(e.retryAfterS) } : {});
    default:
      return e;
  }
}
