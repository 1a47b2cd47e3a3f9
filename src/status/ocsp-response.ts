import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as asn1X509 from '@peculiar/asn1-x509';
import { derGeneralizedTime, derTlv } from '../domain/der.ts';
import { signedSequence } from '../x509/certificate.ts';
import type { ResponderKey } from '../authority/responder-certificate.ts';

export type { ResponderKey };

export type CertStatusInfo = { kind: 'good' } | { kind: 'revoked'; revokedAt: Date; reason: number | null } | { kind: 'unknown' };

export interface SingleAnswer {
  certIdDer: Uint8Array;
  status: CertStatusInfo;
  thisUpdate: Date;
  nextUpdate: Date;
}

/** Whole seconds: RFC 5280 GeneralizedTime carries no fractions. */
const seconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** What a response is built from; `nonceExtnValue` is the request's nonce extnValue contents, echoed as sent (RFC 8954 §2.1). */
export interface ResponseInput {
  responder: ResponderKey;
  producedAt: Date;
  answers: SingleAnswer[];
  nonceExtnValue?: Uint8Array | null;
}

/**
 * Builds and signs a successful OCSPResponse holding a BasicOCSPResponse (RFC 6960 §4.2.1),
 * responder named by key hash, the responder certificate attached so relying parties can
 * check the delegation, each CertID and the request's nonce echoed byte for byte as received:
 * a client compares them as bytes, so a re-encoding would match nothing. ResponseData is a short
 * DER concatenation of fixed parts (the responder's, encoded once), the CertIDs and nonce as
 * received and GeneralizedTimes, so pre-signing at issuance costs the signature and little else;
 * the tests hold it byte for byte to an @peculiar/asn1-ocsp reference encoder.
 */
export function signOcspResponse(p: ResponseInput): Uint8Array {
  const parts = partsFor(p.responder);
  const single = p.answers.map((a) =>
    derTlv(
      0x30,
      a.certIdDer,
      a.status.kind === 'good' ? GOOD : a.status.kind === 'unknown' ? UNKNOWN : new Uint8Array(AsnConvert.serialize(certStatusOf(a.status))),
      derGeneralizedTime(epochSeconds(a.thisUpdate)),
      derTlv(0xa0, derGeneralizedTime(epochSeconds(a.nextUpdate))),
    ),
  );
  // responseExtensions [1] EXPLICIT Extensions: the nonce, non-critical, its extnValue as the client sent it.
  const exts = p.nonceExtnValue ? [derTlv(0xa1, derTlv(0x30, derTlv(0x30, NONCE_OID, derTlv(0x04, p.nonceExtnValue))))] : [];
  const tbs = derTlv(0x30, parts.responderId, derGeneralizedTime(epochSeconds(p.producedAt)), derTlv(0x30, ...single), ...exts);
  const basic = signedSequence(tbs, p.responder.alg, p.responder.sign(tbs), parts.certs);
  return derTlv(0x30, SUCCESSFUL, derTlv(0xa0, derTlv(0x30, ID_PKIX_OCSP_BASIC, derTlv(0x04, basic))));
}

/** The per-responder parts of every response, encoded once: ResponderID byKey and the certs field. */
interface ResponderParts {
  responderId: Uint8Array;
  certs: Uint8Array;
}
const responderParts = new WeakMap<ResponderKey, ResponderParts>();
function partsFor(r: ResponderKey): ResponderParts {
  let parts = responderParts.get(r);
  if (!parts) {
    parts = {
      // ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash } (explicit tags)
      responderId: derTlv(0xa2, derTlv(0x04, r.keyHash)),
      // certs [0] EXPLICIT SEQUENCE OF Certificate
      certs: derTlv(0xa0, derTlv(0x30, r.certDer)),
    };
    responderParts.set(r, parts);
  }
  return parts;
}
const GOOD = Uint8Array.of(0x80, 0x00); // [0] IMPLICIT NULL
const UNKNOWN = Uint8Array.of(0x82, 0x00); // [2] IMPLICIT UnknownInfo (NULL)
const SUCCESSFUL = Uint8Array.of(0x0a, 0x01, 0x00); // OCSPResponseStatus successful
const ID_PKIX_OCSP_BASIC = Uint8Array.of(0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01);
const epochSeconds = (d: Date) => Math.floor(d.getTime() / 1000);
const NONCE_OID = Uint8Array.of(0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02);

/** The CertStatus of an answer as @peculiar/asn1-ocsp encodes it (the revoked case, and the tests' reference encoder). */
export function certStatusOf(s: CertStatusInfo): ocsp.CertStatus {
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
