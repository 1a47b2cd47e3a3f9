import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { id_pkix_ocsp_nonce, OCSPRequest } from '@peculiar/asn1-ocsp';
import { bytesEqual, oidText, readTlv, serialHexOf } from '../domain/der.ts';

/** One certificate asked about: the CertID fields, plus its exact DER to echo in the response. */
export interface RequestedCert {
  hashAlgorithm: string; // OID
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** Lowercase hex as the store keys serials; null when the serial is not a positive INTEGER we could have issued. */
  serial: string | null;
  certIdDer: Uint8Array;
}

export interface OcspRequestInfo {
  certs: RequestedCert[];
  /** RFC 8954 nonce value (the inner OCTET STRING's contents), or null when absent. */
  nonce: Uint8Array | null;
}

/** DER of the nonce extension's OID (1.3.6.1.5.5.7.48.1.2), as it appears inside an Extension. */
const NONCE_OID = Uint8Array.of(0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02);

/**
 * Parses an OCSPRequest. The common shape (what openssl, Go and browsers send: no version,
 * no requestor name, no signature, CertIDs and maybe a nonce) is read by a strict DER walk
 * in well under a microsecond; anything else goes to @peculiar/asn1-ocsp, which decides.
 * Returns null for a request that is not a valid OCSPRequest.
 */
export function parseOcspRequest(der: Uint8Array): OcspRequestInfo | null {
  return readOcspRequestFast(der) ?? parseOcspRequestFull(der);
}

/**
 * The strict fast reader. Returns null whenever the input is not in the exact shape it
 * knows, never a different answer than the full parser would give (property-tested).
 */
export function readOcspRequestFast(b: Uint8Array): OcspRequestInfo | null {
  const outer = readTlv(b, 0, b.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== b.length) return null;
  const tbs = readTlv(b, outer.start, outer.end);
  if (!tbs || tbs.tag !== 0x30 || tbs.end !== outer.end) return null; // optionalSignature present: full parser
  const list = readTlv(b, tbs.start, tbs.end);
  if (!list || list.tag !== 0x30 || list.start === list.end) return null; // version / requestorName, or an empty list
  const certs: RequestedCert[] = [];
  for (let p = list.start; p < list.end; ) {
    const req = readTlv(b, p, list.end);
    if (!req || req.tag !== 0x30) return null;
    const id = readTlv(b, req.start, req.end);
    if (!id || id.tag !== 0x30 || id.end !== req.end) return null; // singleRequestExtensions: full parser
    const cert = readCertId(b, id.start, id.end);
    if (!cert) return null;
    cert.certIdDer = b.subarray(req.start, id.end); // the CertID TLV itself
    certs.push(cert);
    p = req.end;
  }
  let nonce: Uint8Array | null = null;
  if (list.end !== tbs.end) {
    const exts = readTlv(b, list.end, tbs.end);
    if (!exts || exts.tag !== 0xa2 || exts.end !== tbs.end) return null;
    const seq = readTlv(b, exts.start, exts.end);
    if (!seq || seq.tag !== 0x30 || seq.end !== exts.end || seq.start === seq.end) return null;
    for (let p = seq.start; p < seq.end; ) {
      const ext = readTlv(b, p, seq.end);
      if (!ext || ext.tag !== 0x30) return null;
      const oid = readTlv(b, ext.start, ext.end);
      if (!oid || oid.tag !== 0x06 || oidText(b, oid.start, oid.end) === null) return null;
      const value = readTlv(b, oid.end, ext.end);
      if (!value || value.tag !== 0x04 || value.end !== ext.end) return null; // a `critical` flag: full parser
      if (bytesEqual(b, ext.start, oid.end, NONCE_OID)) {
        if (nonce) return null; // twice: let the full parser decide
        const inner = readTlv(b, value.start, value.end);
        if (!inner || inner.tag !== 0x04 || inner.end !== value.end) return null; // raw (pre-RFC 8954) nonce
        nonce = b.subarray(inner.start, inner.end);
      }
      p = ext.end;
    }
  }
  return { certs, nonce };
}

/** CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING, serialNumber INTEGER } */
function readCertId(b: Uint8Array, start: number, end: number): RequestedCert | null {
  const alg = readTlv(b, start, end);
  if (!alg || alg.tag !== 0x30) return null;
  const oid = readTlv(b, alg.start, alg.end);
  const hashAlgorithm = oid?.tag === 0x06 ? oidText(b, oid.start, oid.end) : null;
  if (!oid || !hashAlgorithm) return null;
  if (oid.end !== alg.end) {
    // Only an explicit NULL may follow (openssl writes one); anything else: full parser.
    if (alg.end - oid.end !== 2 || b[oid.end] !== 0x05 || b[oid.end + 1] !== 0x00) return null;
  }
  const nameHash = readTlv(b, alg.end, end);
  if (!nameHash || nameHash.tag !== 0x04) return null;
  const keyHash = readTlv(b, nameHash.end, end);
  if (!keyHash || keyHash.tag !== 0x04) return null;
  const serial = readTlv(b, keyHash.end, end);
  if (!serial || serial.tag !== 0x02 || serial.end !== end || serial.start === serial.end) return null;
  const s = b.subarray(serial.start, serial.end);
  // Non-minimal or negative INTEGERs: the full parser decides.
  if (s.length > 1 && ((s[0] === 0 && s[1]! < 0x80) || (s[0] === 0xff && s[1]! >= 0x80))) return null;
  if (s[0]! & 0x80) return null;
  return {
    hashAlgorithm,
    issuerNameHash: b.subarray(nameHash.start, nameHash.end),
    issuerKeyHash: b.subarray(keyHash.start, keyHash.end),
    serial: serialHexOf(s),
    certIdDer: new Uint8Array(0),
  };
}

/** The full parser, for every request the fast reader declines. */
export function parseOcspRequestFull(der: Uint8Array): OcspRequestInfo | null {
  let req: OCSPRequest;
  try {
    req = AsnConvert.parse(der, OCSPRequest);
  } catch {
    return null;
  }
  const list = req.tbsRequest.requestList;
  if (!list || list.length === 0) return null;
  try {
    const certs = list.map((r): RequestedCert => {
      const id = r.reqCert;
      const serialBytes = new Uint8Array(id.serialNumber);
      return {
        hashAlgorithm: id.hashAlgorithm.algorithm,
        issuerNameHash: new Uint8Array(id.issuerNameHash.buffer),
        issuerKeyHash: new Uint8Array(id.issuerKeyHash.buffer),
        serial: serialBytes.length > 0 && !(serialBytes[0]! & 0x80) ? serialHexOf(serialBytes) : null,
        certIdDer: new Uint8Array(AsnConvert.serialize(id)),
      };
    });
    const nonceExts = (req.tbsRequest.requestExtensions ?? []).filter((e) => e.extnID === id_pkix_ocsp_nonce);
    if (nonceExts.length > 1) return null;
    let nonce: Uint8Array | null = null;
    if (nonceExts[0]) {
      const raw = new Uint8Array(nonceExts[0].extnValue.buffer);
      try {
        nonce = new Uint8Array(AsnConvert.parse(raw, OctetString).buffer);
      } catch {
        nonce = raw; // pre-RFC 8954 clients send the bare octets
      }
    }
    return { certs, nonce };
  } catch {
    return null;
  }
}




