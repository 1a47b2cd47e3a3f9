import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { derOid, derTlv } from '../domain/der.ts';
import { CaError } from '../domain/errors.ts';

/** id-data (RFC 5652 §4): the empty encapsulated content of a "certs-only" message. */
const ID_DATA = '1.2.840.113549.1.7.1';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';

/**
 * A degenerate CMS SignedData holding only certificates (RFC 5652 §5, no signers): what RFC 7030
 * §4.1.3 (cacerts) and §4.2.3 (simpleenroll/simplereenroll) return as application/pkcs7-mime;
 * smime-type=certs-only. The certificates are carried byte for byte, in the order given. Written
 * directly as DER: pkijs parses every certificate back into objects to write them out again, which
 * cost more per renewal than the rest of the request (scripts/bench-renew); test/x509/reference-pkcs7.ts
 * holds it byte for byte to pkijs's encoding.
 */
export function certsOnlyPkcs7(certificates: Uint8Array[]): Uint8Array {
  const signedData = derTlv(
    0x30,
    derTlv(0x02, Uint8Array.of(1)), // version 1: no attribute certificates, id-data content (§5.1)
    derTlv(0x31), // digestAlgorithms: none, no signers
    derTlv(0x30, derOid(ID_DATA)), // encapContentInfo without eContent
    derTlv(0xa0, ...certificates), // certificates [0] IMPLICIT CertificateSet
    derTlv(0x31), // signerInfos: none
  );
  return derTlv(0x30, derOid(ID_SIGNED_DATA), derTlv(0xa0, signedData));
}

/** The certificates (DER) of a certs-only PKCS#7 message, in order; malformed when it is not one. */
export function certificatesOfPkcs7(der: Uint8Array): Uint8Array[] {
  try {
    const parsed = asn1js.fromBER(new Uint8Array(der));
    if (parsed.offset === -1) throw new Error(parsed.result.error);
    const info = new pkijs.ContentInfo({ schema: parsed.result });
    if (info.contentType !== ID_SIGNED_DATA) throw new Error(`content type ${info.contentType} is not signedData`);
    const signed = new pkijs.SignedData({ schema: info.content });
    return (signed.certificates ?? []).flatMap((c) => (c instanceof pkijs.Certificate ? [new Uint8Array(c.toSchema().toBER(false))] : []));
  } catch (e) {
    throw new CaError('malformed', `not a PKCS#7 certs-only message: ${(e as Error).message}`);
  }
}
