/**
 * A strict DER reader for the usual PKCS#10 request (RFC 2986): one pass over the bytes with
 * readTlv, no generic ASN.1 parse (AsnConvert.parse of the envelope cost ~19% of an issuance).
 * It accepts only the shapes it can read exactly — EC P-256/P-384 or RSA keys, ECDSA / RSA
 * PKCS#1 v1.5 signatures over SHA-2, a subject of string attributes, extensionRequest attributes
 * with SAN (DNS, IP, URI, email), basicConstraints, EKU, keyUsage, SKI or extensions no library
 * decodes — and returns null on anything else, so the asn1-schema path and then @peculiar/x509
 * decide. What a request asks for is read, not judged: an email SAN or a second extensionRequest
 * is read so that the policy refuses it here as it does after the other parsers.
 * Nothing here throws: refusals are the key rules' and the signature check's (csr-key.ts), then
 * the policy's (csr-policy.ts), after it.
 */
import { bytesEqual, derOid, oidText, readTlv, type Tlv } from '../domain/der.ts';
import { formatIp } from '../domain/ip.ts';
import { OID_EXTENSION_REQUEST, type RequestedExtension, type RequestedName } from './csr-types.ts';

export type StrictKey = { type: 'ec'; curve: 'P-256' | 'P-384'; point: Uint8Array } | { type: 'rsa'; n: Uint8Array; e: Uint8Array };

export interface StrictCsr {
  /** CertificationRequestInfo, tag to end: the signed bytes. */
  info: Uint8Array;
  spki: Uint8Array;
  key: StrictKey;
  /** subjectPublicKey BIT STRING contents after the unused-bits octet (the SKI's input). */
  subjectPublicKey: Uint8Array;
  signatureKeyType: 'ec' | 'rsa';
  signatureHash: string;
  signature: Uint8Array;
  commonName: string | null;
  extensionRequests: number;
  extensions: RequestedExtension[];
}

/** AlgorithmIdentifier DER as RFC 5758 (ECDSA: no parameters) and RFC 4055 (RSA: NULL) write them. */
const SIGNATURE_ALGS: { der: Uint8Array; keyType: 'ec' | 'rsa'; hash: string }[] = [
  ...(['2', '3', '4'] as const).map((n, i) => ({ der: seq(derOid(`1.2.840.10045.4.3.${n}`)), keyType: 'ec' as const, hash: ['sha256', 'sha384', 'sha512'][i]! })),
  ...(['11', '12', '13'] as const).map((n, i) => ({ der: seq(derOid(`1.2.840.113549.1.1.${n}`), Uint8Array.of(0x05, 0x00)), keyType: 'rsa' as const, hash: ['sha256', 'sha384', 'sha512'][i]! })),
];
const EC_ALG = { 'P-256': seq(derOid('1.2.840.10045.2.1'), derOid('1.2.840.10045.3.1.7')), 'P-384': seq(derOid('1.2.840.10045.2.1'), derOid('1.3.132.0.34')) };
const EC_POINT_OCTETS = { 'P-256': 65, 'P-384': 97 };
const RSA_ALG = seq(derOid('1.2.840.113549.1.1.1'), Uint8Array.of(0x05, 0x00));
const EXTENSION_REQUEST = derOid(OID_EXTENSION_REQUEST);
const CN_CONTENTS = derOid('2.5.4.3').subarray(2);
const VERSION_0 = Uint8Array.of(0x02, 0x01, 0x00);
/** Extension types @peculiar/x509 decodes (so may refuse) that this reader does not read: left to it. */
const DECODED_ELSEWHERE = new Set(['2.5.29.32', '2.5.29.35', '2.5.29.31', '1.3.6.1.5.5.7.1.1', '2.5.29.18']);

function seq(...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  return Uint8Array.of(0x30, len, ...parts.flatMap((p) => [...p]));
}

/** The element at `pos` if it has tag `tag`, else null. */
function element(buf: Uint8Array, pos: number, limit: number, tag: number): Tlv | null {
  const t = readTlv(buf, pos, limit);
  return t && t.tag === tag ? t : null;
}

export function readCsrStrict(der: Uint8Array): StrictCsr | null {
  const outer = element(der, 0, der.length, 0x30);
  if (!outer || outer.end !== der.length) return null;
  const info = element(der, outer.start, outer.end, 0x30);
  if (!info) return null;
  const algTlv = element(der, info.end, outer.end, 0x30);
  if (!algTlv) return null;
  const alg = SIGNATURE_ALGS.find((a) => bytesEqual(der, info.end, algTlv.end, a.der));
  const sig = element(der, algTlv.end, outer.end, 0x03);
  if (!alg || !sig || sig.end !== outer.end || sig.end - sig.start < 2 || der[sig.start] !== 0) return null;

  if (!bytesEqual(der, info.start, info.start + 3, VERSION_0)) return null;
  const subject = element(der, info.start + 3, info.end, 0x30);
  if (!subject) return null;
  const commonName = readCommonName(der, subject);
  if (commonName === undefined) return null;
  const spkiTlv = element(der, subject.end, info.end, 0x30);
  if (!spkiTlv) return null;
  const spki = readSpki(der, spkiTlv);
  if (!spki) return null;
  const attrs = element(der, spkiTlv.end, info.end, 0xa0);
  if (!attrs || attrs.end !== info.end) return null;
  const requested = readAttributes(der, attrs);
  if (!requested) return null;
  return {
    info: der.slice(outer.start, info.end),
    spki: der.slice(subject.end, spkiTlv.end),
    key: spki.key,
    subjectPublicKey: spki.subjectPublicKey,
    signatureKeyType: alg.keyType,
    signatureHash: alg.hash,
    signature: der.slice(sig.start + 1, sig.end),
    commonName,
    ...requested,
  };
}

/**
 * The first CN of a Name whose every attribute is a PrintableString, UTF8String or IA5String
 * readable without doubt; null without a CN; undefined (unreadable) otherwise.
 */
function readCommonName(der: Uint8Array, name: Tlv): string | null | undefined {
  let cn: string | null = null;
  for (let pos = name.start; pos < name.end; ) {
    const rdn = element(der, pos, name.end, 0x31);
    if (!rdn || rdn.start === rdn.end) return undefined;
    for (let p = rdn.start; p < rdn.end; ) {
      const atv = element(der, p, rdn.end, 0x30);
      const type = atv && element(der, atv.start, atv.end, 0x06);
      const value = type && readTlv(der, type.end, atv.end);
      if (!value || value.end !== atv!.end || oidText(der, type.start, type.end) === null) return undefined;
      const text = directoryString(der, value);
      if (text === null) return undefined;
      if (cn === null && bytesEqual(der, type.start, type.end, CN_CONTENTS)) cn = text;
      p = atv!.end;
    }
    pos = rdn.end;
  }
  return cn;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** PrintableString (its alphabet), IA5String (ASCII) or UTF8String (well-formed, no BOM) as text; null otherwise. */
function directoryString(der: Uint8Array, v: Tlv): string | null {
  const bytes = der.subarray(v.start, v.end);
  if (v.tag === 0x13 || v.tag === 0x16) {
    const text = ascii(bytes);
    return text !== null && (v.tag === 0x16 || PRINTABLE.test(text)) ? text : null;
  }
  if (v.tag !== 0x0c || (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Printable ASCII (0x20-0x7e) as text; null on anything else. */
function ascii(bytes: Uint8Array): string | null {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return null;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** SubjectPublicKeyInfo of an uncompressed EC P-256/P-384 point, or an RSA key with minimal positive INTEGERs. */
function readSpki(der: Uint8Array, spki: Tlv): { key: StrictKey; subjectPublicKey: Uint8Array } | null {
  const algId = element(der, spki.start, spki.end, 0x30);
  const bits = algId && element(der, algId.end, spki.end, 0x03);
  if (!bits || bits.end !== spki.end || bits.end - bits.start < 2 || der[bits.start] !== 0) return null;
  const subjectPublicKey = der.slice(bits.start + 1, bits.end);
  for (const curve of ['P-256', 'P-384'] as const) {
    if (bytesEqual(der, spki.start, algId.end, EC_ALG[curve])) {
      if (subjectPublicKey.length !== EC_POINT_OCTETS[curve] || subjectPublicKey[0] !== 0x04) return null;
      return { key: { type: 'ec', curve, point: subjectPublicKey }, subjectPublicKey };
    }
  }
  if (!bytesEqual(der, spki.start, algId.end, RSA_ALG)) return null;
  const rsa = element(subjectPublicKey, 0, subjectPublicKey.length, 0x30);
  const n = rsa && rsa.end === subjectPublicKey.length ? positiveInteger(subjectPublicKey, rsa.start, rsa.end) : null;
  const e = n && positiveInteger(subjectPublicKey, n.end, rsa!.end);
  if (!e || e.end !== rsa!.end) return null;
  return { key: { type: 'rsa', n: n.value, e: e.value }, subjectPublicKey };
}

/** A minimal, positive DER INTEGER: its magnitude without the sign octet. */
function positiveInteger(buf: Uint8Array, pos: number, limit: number): { value: Uint8Array; end: number } | null {
  const t = element(buf, pos, limit, 0x02);
  if (!t || t.start === t.end || buf[t.start]! & 0x80) return null;
  let start = t.start;
  if (buf[start] === 0) {
    if (t.end - start < 2 || !(buf[start + 1]! & 0x80)) return null; // non-minimal (or zero)
    start++;
  }
  return { value: buf.slice(start, t.end), end: t.end };
}

/**
 * attributes [0]: extensionRequest attributes only, each with one value, every one readable. How
 * many (the policy allows one) and the first's extensions, the ones the other parsers read.
 */
function readAttributes(der: Uint8Array, attrs: Tlv): { extensionRequests: number; extensions: RequestedExtension[] } | null {
  let extensionRequests = 0;
  let extensions: RequestedExtension[] = [];
  for (let pos = attrs.start; pos < attrs.end; extensionRequests++) {
    const attr = element(der, pos, attrs.end, 0x30);
    const type = attr && element(der, attr.start, attr.end, 0x06);
    if (!type || !bytesEqual(der, attr!.start, type.end, EXTENSION_REQUEST)) return null;
    const values = element(der, type.end, attr!.end, 0x31);
    const exts = values && values.end === attr!.end ? element(der, values.start, values.end, 0x30) : null;
    const read = exts && exts.end === values!.end ? readExtensions(der, exts) : null;
    if (!read) return null;
    if (extensionRequests === 0) extensions = read;
    pos = attr!.end;
  }
  return { extensionRequests, extensions };
}

/** Extensions ::= SEQUENCE OF Extension, each read or the whole declined. */
function readExtensions(der: Uint8Array, exts: Tlv): RequestedExtension[] | null {
  const out: RequestedExtension[] = [];
  for (let pos = exts.start; pos < exts.end; ) {
    const ext = element(der, pos, exts.end, 0x30);
    const decoded = ext && readExtension(der, ext);
    if (!decoded) return null;
    out.push(decoded);
    pos = ext!.end;
  }
  return out;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (DER: present only as TRUE), extnValue OCTET STRING }. */
function readExtension(der: Uint8Array, ext: Tlv): RequestedExtension | null {
  const oid = element(der, ext.start, ext.end, 0x06);
  const id = oid && oidText(der, oid.start, oid.end);
  if (!id) return null;
  let pos = oid!.end;
  let critical = false;
  const flag = readTlv(der, pos, ext.end);
  if (flag?.tag === 0x01) {
    if (flag.end - flag.start !== 1 || der[flag.start] !== 0xff) return null;
    critical = true;
    pos = flag.end;
  }
  const value = element(der, pos, ext.end, 0x04);
  if (!value || value.end !== ext.end) return null;
  const body = der.subarray(value.start, value.end);
  switch (id) {
    case '2.5.29.17': {
      const names = readGeneralNames(body);
      return names && { id, critical, kind: 'san', names };
    }
    case '2.5.29.19': {
      const ca = readBasicConstraints(body);
      return ca === null ? null : { id, critical, kind: 'basicConstraints', ca };
    }
    case '2.5.29.37': {
      const oids = readOidSequence(body);
      return oids && { id, critical, kind: 'eku', oids };
    }
    case '2.5.29.15': // keyUsage: a BIT STRING of one or two octets
      return isKeyUsage(body) ? { id, critical, kind: 'other', value: body.slice() } : null;
    case '2.5.29.14': {
      const ski = element(body, 0, body.length, 0x04);
      return ski && ski.end === body.length ? { id, critical, kind: 'other', value: body.slice() } : null;
    }
    default:
      return DECODED_ELSEWHERE.has(id) ? null : { id, critical, kind: 'other', value: body.slice() };
  }
}

/** IA5String GeneralName tags → @peculiar/x509's type names (RFC 5280 §4.2.1.6). */
const ASCII_NAMES = new Map([
  [0x81, 'email'],
  [0x82, 'dns'],
  [0x86, 'url'],
]);

/** GeneralNames of rfc822Name [1], dNSName [2], uniformResourceIdentifier [6] (printable ASCII) and iPAddress [7] (4 or 16 octets) only. */
function readGeneralNames(body: Uint8Array): RequestedName[] | null {
  const names = element(body, 0, body.length, 0x30);
  if (!names || names.end !== body.length || names.start === names.end) return null;
  const out: RequestedName[] = [];
  for (let pos = names.start; pos < names.end; ) {
    const n = readTlv(body, pos, names.end);
    if (!n) return null;
    if (n.tag === 0x87) {
      if (n.end - n.start !== 4 && n.end - n.start !== 16) return null;
      // The RFC 5952 text @peculiar/asn1-x509 also writes, so every CSR path gives the same text.
      out.push({ type: 'ip', value: formatIp(body.subarray(n.start, n.end)) });
    } else {
      const type = ASCII_NAMES.get(n.tag);
      const value = type === undefined ? null : ascii(body.subarray(n.start, n.end));
      if (value === null) return null;
      out.push({ type: type!, value });
    }
    pos = n.end;
  }
  return out;
}

const BC_FALSE = Uint8Array.of(0x30, 0x00);
const BC_TRUE = Uint8Array.of(0x30, 0x03, 0x01, 0x01, 0xff);

/** BasicConstraints → cA: `{}`, `{cA TRUE}` or `{cA TRUE, pathLen 0-127}`; null otherwise. */
function readBasicConstraints(body: Uint8Array): boolean | null {
  if (bytesEqual(body, 0, body.length, BC_FALSE)) return false;
  if (bytesEqual(body, 0, body.length, BC_TRUE)) return true;
  const withPathLen = body.length === 8 && body[0] === 0x30 && body[1] === 6 && bytesEqual(body, 2, 5, BC_TRUE.subarray(2)) && body[5] === 0x02 && body[6] === 1 && body[7]! < 0x80;
  return withPathLen ? true : null;
}

/** SEQUENCE OF OBJECT IDENTIFIER, as dotted text (empty, as x509 writes an empty EKU, reads as none). */
function readOidSequence(body: Uint8Array): string[] | null {
  const s = element(body, 0, body.length, 0x30);
  if (!s || s.end !== body.length) return null;
  const out: string[] = [];
  for (let pos = s.start; pos < s.end; ) {
    const o = element(body, pos, s.end, 0x06);
    const text = o && oidText(body, o.start, o.end);
    if (!text) return null;
    out.push(text);
    pos = o!.end;
  }
  return out;
}

function isKeyUsage(body: Uint8Array): boolean {
  const b = element(body, 0, body.length, 0x03);
  return !!b && b.end === body.length && b.end - b.start >= 2 && b.end - b.start <= 3 && body[b.start]! < 8;
}
