import * as ocsp from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { serialContents } from '../../src/domain/der.ts';
import { IssuerHashes, SHA1_OID } from '../../src/x509/issuer-hashes.ts';

/**
 * The DER of a nonce-less OCSP request (what RFC 5019 clients send) asking about `serials`
 * (hex) under the CA certificate `issuerDer`: one SHA-1 CertID a serial, in that order.
 */
export function ocspRequestDer(issuerDer: Uint8Array, serials: string[]): Uint8Array<ArrayBuffer> {
  const h = new IssuerHashes(issuerDer).get(SHA1_OID);
  const requestList = serials.map(
    (serial) =>
      new ocsp.Request({
        reqCert: new ocsp.CertID({
          hashAlgorithm: new asn1X509.AlgorithmIdentifier({ algorithm: SHA1_OID, parameters: null }),
          issuerNameHash: new OctetString(h.name),
          issuerKeyHash: new OctetString(h.key),
          serialNumber: serialContents(serial).buffer as ArrayBuffer,
        }),
      }),
  );
  return new Uint8Array(AsnConvert.serialize(new ocsp.OCSPRequest({ tbsRequest: new ocsp.TBSRequest({ requestList }) })));
}
