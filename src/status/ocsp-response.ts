import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as asn1X509 from '@peculiar/asn1-x509';
import { signatureAlgorithmFor, type KeyAlg } from '../keystore/algorithms.ts';

/** What a responder needs to sign: its certificate, its key hash (ResponderID byKey) and a synchronous signer. */
export interface ResponderKey {
  serial: string;
  certDer: Uint8Array;
  /** SHA-1 of the responder public key's BIT STRING contents (RFC 6960 §4.2.1 ResponderID byKey). */
  keyHash: Uint8Array;
  alg: KeyAlg;
  notAfter: Date;
  sign(tbs: Uint8Array): Uint8Array;
}

export type CertStatusInfo = { kind: 'good' } | { kind: 'revoked'; revokedAt: Date; reason: number | null } | { kind: 'unknown' };

export interface SingleAnswer {
  certIdDer: Uint8Array;
  status: CertStatusInfo;
  thisUpdate: Date;
  nextUpdate: Date;
}

/** Whole seconds: RFC 5280 GeneralizedTime carries no fractions. */
const seconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/**
 * Builds and signs a successful OCSPResponse holding a BasicOCSPResponse (RFC 6960 §4.2.1),
 * responder named by key hash, the responder certificate attached so relying parties can
 * check the delegation, and the request's nonce echoed when there was one (RFC 8954).
 */
export function signOcspResponse(p: { responder: ResponderKey; producedAt: Date; answers: SingleAnswer[]; nonce?: Uint8Array | null }): Uint8Array {
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
  if (p.nonce) {
    tbs.responseExtensions = [
      new asn1X509.Extension({ extnID: ocsp.id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(AsnConvert.serialize(new OctetString(p.nonce))) }),
    ];
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

function certStatusOf(s: CertStatusInfo): ocsp.CertStatus {
  if (s.kind === 'good') return new ocsp.CertStatus({ good: null });
  if (s.kind === 'unknown') return new ocsp.CertStatus({ unknown: null });
  return new ocsp.CertStatus({
    revoked: new ocsp.RevokedInfo({
      revocationTime: seconds(s.revokedAt),
      // As on the CRL (RFC 5280 §5.3.1), an unspecified reason is left out.
      ...(s.reason ? { revocationReason: new asn1X509.CRLReason(s.reason) } : {}),
    }),
  });
}

/** An unsuccessful OCSPResponse: just the status, no responseBytes (RFC 6960 §2.3). */
function errorResponse(status: ocsp.OCSPResponseStatus): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new ocsp.OCSPResponse({ responseStatus: status })));
}
export const MALFORMED_REQUEST = errorResponse(ocsp.OCSPResponseStatus.malformedRequest);
export const UNAUTHORIZED = errorResponse(ocsp.OCSPResponseStatus.unauthorized);
export const INTERNAL_ERROR = errorResponse(ocsp.OCSPResponseStatus.internalError);
export const TRY_LATER = errorResponse(ocsp.OCSPResponseStatus.tryLater);
