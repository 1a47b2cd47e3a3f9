import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CaError } from '../domain/errors.ts';

/** id-data (RFC 5652 §4): the empty encapsulated content of a "certs-only" message. */
const ID_DATA = '1.2.840.113549.1.7.1';
const ID_SIGNED_DATA = '1.2.840.113549.1.7.2';

/**
 * A degenerate CMS SignedData holding only certificates (RFC 5652 §5, no signers): what RFC 7030
 * §4.1.3 (cacerts) and §4.2.3 (simpleenroll/simplereenroll) return as application/pkcs7-mime;
 * smime-type=certs-only. The certificates are carried byte for byte.
 */
export function certsOnlyPkcs7(certificates: Uint8Array[]): Uint8Array {
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: ID_DATA }),
    certificates: certificates.map((der) => pkijs.Certificate.fromBER(new Uint8Array(der))),
  });
  const info = new pkijs.ContentInfo({ contentType: ID_SIGNED_DATA, content: signed.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER(false));
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
