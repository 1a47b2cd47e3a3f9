import { bytesEqual, oidText, readTlv, serialHexOf, type Tlv } from '../domain/der.ts';

/** One certificate asked about: the CertID fields, plus its exact DER to echo in the response. */
export interface RequestedCert {
  hashAlgorithm: string; // OID
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** Lowercase hex as the store keys serials; null when the serial is not a positive INTEGER we could have issued. */
  serial: string | null;
  /** The CertID TLV exactly as received: RFC 6960 §4.2.1 wants the requested CertID back. */
  certIdDer: Uint8Array;
}

export interface OcspRequestInfo {
  certs: RequestedCert[];
  /** RFC 8954 nonce value (the inner OCTET STRING's contents, or the bare octets of a pre-RFC 8954 client), or null when absent. */
  nonce: Uint8Array | null;
  /** The nonce extension's extnValue contents exactly as sent, echoed byte for byte (RFC 8954 §2.1). */
  nonceExtnValue: Uint8Array | null;
}

/** DER of the nonce extension's OID (1.3.6.1.5.5.7.48.1.2), as it appears inside an Extension. */
const NONCE_OID = Uint8Array.of(0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02);

/**
 * Parses an OCSPRequest (RFC 6960 §4.1.1). RFC 6960 Appendix A.1 sends "the DER encoding of
 * the OCSPRequest" over GET and POST alike, so this is one strict DER walk of the whole
 * structure (version, requestorName, CertIDs with their singleRequestExtensions, requestExtensions,
 * optionalSignature), in well under a microsecond for the usual request. Reading the DER
 * ourselves also keeps every CertID's exact bytes, so the response can echo them.
 * Returns null (malformedRequest) for anything else, including a critical extension we do not
 * understand (RFC 6960 §4.4 defers to RFC 5280 §4.2: unrecognised critical extensions are refused).
 * (@peculiar/asn1-ocsp is not used: its schema drops singleRequestExtensions' [0] tag.)
 */
export function parseOcspRequest(b: Uint8Array): OcspRequestInfo | null {
  const outer = readTlv(b, 0, b.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== b.length) return null;
  const tbs = readTlv(b, outer.start, outer.end);
  if (!tbs || tbs.tag !== 0x30) return null;
  if (tbs.end !== outer.end && !isSignature(b, tbs.end, outer.end)) return null;
  let p = tbs.start;
  // version [0] EXPLICIT Version DEFAULT v1: DER leaves the default out; any other version we do not speak.
  let next = readTlv(b, p, tbs.end);
  if (next?.tag === 0xa0) return null;
  // requestorName [1] EXPLICIT GeneralName: informational, not checked (we answer anyone).
  if (next?.tag === 0xa1) {
    p = next.end;
    next = readTlv(b, p, tbs.end);
  }
  const list = next;
  if (!list || list.tag !== 0x30 || list.start === list.end) return null;
  const certs: RequestedCert[] = [];
  for (let q = list.start; q < list.end; ) {
    const cert = readRequest(b, q, list.end);
    if (!cert) return null;
    certs.push(cert.cert);
    q = cert.end;
  }
  let nonce: Uint8Array | null = null;
  let nonceExtnValue: Uint8Array | null = null;
  if (list.end !== tbs.end) {
    const exts = readTlv(b, list.end, tbs.end);
    if (!exts || exts.tag !== 0xa2 || exts.end !== tbs.end) return null;
    const ok = readExtensions(b, exts.start, exts.end, (oid, value) => {
      if (!bytesEqual(b, oid.start - 2, oid.end, NONCE_OID)) return false;
      nonceExtnValue = b.subarray(value.start, value.end);
      const inner = readTlv(b, value.start, value.end);
      // RFC 8954 wraps the nonce in an OCTET STRING; earlier clients sent the bare octets.
      nonce = inner && inner.tag === 0x04 && inner.end === value.end ? b.subarray(inner.start, inner.end) : nonceExtnValue;
      return true;
    });
    if (!ok) return null;
  }
  return { certs, nonce, nonceExtnValue };
}

/** optionalSignature [0] EXPLICIT Signature (a SEQUENCE) filling the rest: accepted, not verified (RFC 6960 §4.1.2 leaves it to local policy). */
function isSignature(b: Uint8Array, start: number, end: number): boolean {
  const sig = readTlv(b, start, end);
  if (!sig || sig.tag !== 0xa0 || sig.end !== end) return false;
  const seq = readTlv(b, sig.start, sig.end);
  return seq !== null && seq.tag === 0x30 && seq.end === sig.end;
}

/** Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL } */
function readRequest(b: Uint8Array, start: number, limit: number): { cert: RequestedCert; end: number } | null {
  const req = readTlv(b, start, limit);
  if (!req || req.tag !== 0x30) return null;
  const id = readTlv(b, req.start, req.end);
  if (!id || id.tag !== 0x30) return null;
  const cert = readCertId(b, req.start, id);
  if (!cert) return null;
  if (id.end !== req.end) {
    const exts = readTlv(b, id.end, req.end);
    // No single-request extension is understood here (RFC 6960 §4.4.6 service locator is for proxies).
    if (!exts || exts.tag !== 0xa0 || exts.end !== req.end || !readExtensions(b, exts.start, exts.end, () => false)) return null;
  }
  return { cert, end: req.end };
}

/**
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension, strictly: each OID at most once (RFC 5280
 * §4.2), `critical` present only as TRUE (DER), extnValue an OCTET STRING. `understood` is
 * called for each and says whether it was understood; an unrecognised critical one fails the whole.
 */
function readExtensions(b: Uint8Array, start: number, end: number, understood: (oid: Tlv, value: Tlv) => boolean): boolean {
  const seq = readTlv(b, start, end);
  if (!seq || seq.tag !== 0x30 || seq.end !== end || seq.start === seq.end) return false;
  const seen = new Set<string>();
  for (let p = seq.start; p < seq.end; ) {
    const ext = readTlv(b, p, seq.end);
    if (!ext || ext.tag !== 0x30) return false;
    const oid = readTlv(b, ext.start, ext.end);
    const name = oid?.tag === 0x06 ? oidText(b, oid.start, oid.end) : null;
    if (!oid || !name || seen.has(name)) return false;
    seen.add(name);
    let value = readTlv(b, oid.end, ext.end);
    let critical = false;
    if (value?.tag === 0x01) {
      if (value.end - value.start !== 1 || b[value.start] !== 0xff) return false; // DER: TRUE is 0xff, FALSE is left out
      critical = true;
      value = readTlv(b, value.end, ext.end);
    }
    if (!value || value.tag !== 0x04 || value.end !== ext.end) return false;
    if (!understood(oid, value) && critical) return false;
    p = ext.end;
  }
  return true;
}

/** CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING, serialNumber INTEGER } */
function readCertId(b: Uint8Array, idPos: number, id: Tlv): RequestedCert | null {
  const { start, end } = id;
  const alg = readTlv(b, start, end);
  if (!alg || alg.tag !== 0x30) return null;
  const oid = readTlv(b, alg.start, alg.end);
  const hashAlgorithm = oid?.tag === 0x06 ? oidText(b, oid.start, oid.end) : null;
  if (!oid || !hashAlgorithm) return null;
  // A hash algorithm's parameters are absent or NULL (RFC 5754 §2; openssl writes NULL); nothing else.
  if (oid.end !== alg.end && (alg.end - oid.end !== 2 || b[oid.end] !== 0x05 || b[oid.end + 1] !== 0x00)) return null;
  const nameHash = readTlv(b, alg.end, end);
  if (!nameHash || nameHash.tag !== 0x04) return null;
  const keyHash = readTlv(b, nameHash.end, end);
  if (!keyHash || keyHash.tag !== 0x04) return null;
  const serial = readTlv(b, keyHash.end, end);
  if (!serial || serial.tag !== 0x02 || serial.end !== end || serial.start === serial.end) return null;
  const s = b.subarray(serial.start, serial.end);
  // A non-minimal INTEGER is not DER; a negative one is no serial we issue (status unknown).
  if (s.length > 1 && ((s[0] === 0 && s[1]! < 0x80) || (s[0] === 0xff && s[1]! >= 0x80))) return null;
  return {
    hashAlgorithm,
    issuerNameHash: b.subarray(nameHash.start, nameHash.end),
    issuerKeyHash: b.subarray(keyHash.start, keyHash.end),
    serial: s[0]! & 0x80 ? null : serialHexOf(s),
    certIdDer: b.subarray(idPos, end),
  };
}
