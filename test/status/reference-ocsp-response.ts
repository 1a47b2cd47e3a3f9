import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as asn1X509 from '@peculiar/asn1-x509';
import { signatureAlgorithmFor } from '../../src/domain/algorithms.ts';
import { certStatusOf, type ResponseInput } from '../../src/status/ocsp-response.ts';

/** Whole seconds: RFC 5280 GeneralizedTime carries no fractions. */
const seconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** Every response shape through @peculiar/asn1-ocsp objects: the reference signOcspResponse is held to (it re-encodes CertIDs, so it cannot echo non-DER ones). */
export function signOcspResponseGeneric(p: ResponseInput): Uint8Array {
  const responses = p.answers.map(
    (a) =>
      new ocsp.SingleResponse({
        certID: AsnConvert.parse(a.certIdDer, ocsp.CertID),
        certStatus: certStatusOf(a.status),
        thisUpdate: seconds(a.thisUpdate),
        nextUpdate: seconds(a.nextUpdate),
      }),
  );
  const tbs = new ocsp.ResponseData({
    responderID: new ocsp.ResponderID({ byKey: new ocsp.KeyHash(p.responder.keyHash) }),
    producedAt: seconds(p.producedAt),
    responses,
  });
  if (p.nonceExtnValue) {
    tbs.responseExtensions = [new asn1X509.Extension({ extnID: ocsp.id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(p.nonceExtnValue) })];
  }
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const basic = new ocsp.BasicOCSPResponse({
    tbsResponseData: tbs,
    signatureAlgorithm: new asn1X509.AlgorithmIdentifier(signatureAlgorithmFor(p.responder.alg)),
    signature: p.responder.sign(tbsDer).slice().buffer,
    certs: [AsnConvert.parse(p.responder.certDer, asn1X509.Certificate)],
  });
  return new Uint8Array(
    AsnConvert.serialize(
      new ocsp.OCSPResponse({
        responseStatus: ocsp.OCSPResponseStatus.successful,
        responseBytes: new ocsp.ResponseBytes({ responseType: ocsp.id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
      }),
    ),
  );
}
