import * as pkijs from 'pkijs';

/** The certs-only SignedData as pkijs writes it: the reference src/x509/pkcs7.ts's direct encoder is held to. */
export function certsOnlyPkcs7Reference(certificates: Uint8Array[]): Uint8Array {
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
    certificates: certificates.map((der) => pkijs.Certificate.fromBER(new Uint8Array(der))),
  });
  const info = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signed.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER(false));
}

