import { isCaError } from '../domain/errors.ts';
import { canonicalSet, parseIdentifier } from '../domain/identifiers.ts';
import type { Identifier } from '../domain/types.ts';
import { parseCsr, type CsrInfo } from '../x509/csr.ts';
import { estBadRequest, estForbidden, EstError } from './errors.ts';

/**
 * The body of simpleenroll / simplereenroll (RFC 7030 §4.2.1): base64 (RFC 4648 §4, line breaks
 * allowed, §3.2.4 Content-Transfer-Encoding: base64) of a DER PKCS#10 request. Anything else is 400
 * with what was wrong.
 */
export async function readEstCsr(body: Buffer): Promise<CsrInfo> {
  const text = body.toString('latin1').replace(/[\r\n\t ]/g, '');
  if (text.length === 0) throw estBadRequest('the body is empty: send the base64 DER of a PKCS#10 request');
  if (text.startsWith('-----BEGIN')) throw estBadRequest('send the base64 DER of the PKCS#10 request without PEM armour (RFC 7030 §4.2.1)');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 === 1) throw estBadRequest('the body is not base64 (RFC 7030 §4.2.1: base64 DER PKCS#10)');
  try {
    return await parseCsr(new Uint8Array(Buffer.from(text, 'base64')));
  } catch (e) {
    throw asEstError(e);
  }
}

/** The names a CSR asks for: its SANs plus a CN that is a name (as the authority reads it, authority/leaf.ts). */
export function csrIdentifiers(info: CsrInfo): Identifier[] {
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
