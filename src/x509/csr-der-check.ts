/**
 * The DER gate in front of every CSR parser (csr.ts calls it once, before any of them): a PKCS#10
 * request must be DER (RFC 2986 §4: "the DER encoding"), and the fallback decoders
 * (@peculiar/asn1-csr, @peculiar/x509) read BER, so what the strict reader would decline must
 * not reach them. One walk over the whole input checks X.690 §10 / §11 where no schema is needed:
 * one element and nothing after it, definite minimal lengths, every child inside its parent,
 * BOOLEAN as 00/FF, minimal INTEGERs, BIT STRINGs with zero padding, empty NULL, minimal OIDs, no
 * constructed strings. Then the few places the schema decides DER: an Extension's `critical`
 * (DEFAULT FALSE, so present only as TRUE), each extnValue holding one DER element (RFC 5280
 * §4.1: "the DER encoding of an ASN.1 value"), basicConstraints' cA (DEFAULT FALSE), and an RSA
 * key's RSAPublicKey. Throws CaError('badCsr') naming the first fault.
 */
import { CaError } from '../domain/errors.ts';
import { bytesEqual, derOid, oidText } from '../domain/der.ts';
import { OID_EXTENSION_REQUEST } from './csr-types.ts';

interface Element {
  tag: number;
  /** Where the element starts (its tag octet), its contents start and end. */
  at: number;
  start: number;
  end: number;
}

const MAX_DEPTH = 24;
const EXTENSION_REQUEST = derOid(OID_EXTENSION_REQUEST).subarray(2);
const BASIC_CONSTRAINTS = derOid('2.5.29.19').subarray(2);
const RSA_ENCRYPTION = derOid('1.2.840.113549.1.1.1').subarray(2);

function notDer(why: string): CaError {
  return new CaError('badCsr', `the CSR is not DER (RFC 2986 §4): ${why}`);
}

/** Throws CaError('badCsr') unless `der` is one DER-encoded CertificationRequest and nothing else. */
export function requireDerCsr(der: Uint8Array): void {
  if (der.length === 0) throw notDer('it is empty');
  const outer = walkOne(der, 0, der.length, 0);
  if (outer.end !== der.length) throw notDer(`${der.length - outer.end} bytes follow the request`);
  checkSchemaRules(der, outer);
}

/** Exactly one element filling [pos, limit): the contents of an OCTET STRING that must hold one DER value. */
function requireOne(buf: Uint8Array, pos: number, limit: number, depth: number): Element {
  const e = walkOne(buf, pos, limit, depth);
  if (e.end !== limit) throw notDer('an encapsulated value has bytes after it');
  return e;
}

/** Reads the element at `pos` (inside `limit`) and checks it and everything in it. */
function walkOne(buf: Uint8Array, pos: number, limit: number, depth: number): Element {
  if (depth > MAX_DEPTH) throw notDer('it nests too deeply');
  const e = header(buf, pos, limit);
  const constructed = (e.tag & 0x20) !== 0;
  const universal = (e.tag & 0xc0) === 0;
  if (constructed) {
    // X.690 §10.2: strings are primitive in DER; the only universal constructed types here are SEQUENCE and SET.
    if (universal && e.tag !== 0x30 && e.tag !== 0x31) throw notDer(`a constructed universal type ${e.tag & 0x1f} (BER)`);
    for (let p = e.start; p < e.end; ) p = walkOne(buf, p, e.end, depth + 1).end;
  } else if (universal) {
    checkPrimitive(buf, e);
  }
  return e;
}

/** Tag and length, strictly: low tag numbers, definite lengths in the fewest octets, inside `limit`. */
function header(buf: Uint8Array, pos: number, limit: number): Element {
  if (pos + 2 > limit) throw notDer('an element is cut short');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw notDer('a high tag number (no CSR field uses one)');
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len === 0x80) throw notDer('an indefinite length (BER)');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n > 4 || start + n > limit) throw notDer('a length field runs past its enclosing element');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    if (buf[start] === 0 || len < 0x80) throw notDer('a length in more octets than needed (BER)');
    start += n;
  }
  const end = start + len;
  if (end > limit) throw notDer('an element is longer than what encloses it');
  return { tag, at: pos, start, end };
}

function checkPrimitive(buf: Uint8Array, e: Element): void {
  const len = e.end - e.start;
  const first = buf[e.start];
  switch (e.tag) {
    case 0x01: // X.690 §11.1: FALSE is 00, TRUE is FF
      if (len !== 1 || (first !== 0x00 && first !== 0xff)) throw notDer('a BOOLEAN that is not 00 or FF (BER)');
      return;
    case 0x02: // INTEGER, X.690 §8.3.2: the fewest octets
    case 0x0a: // ENUMERATED
      if (len === 0) throw notDer('an empty INTEGER');
      if (len > 1 && ((first === 0x00 && !(buf[e.start + 1]! & 0x80)) || (first === 0xff && buf[e.start + 1]! & 0x80))) throw notDer('an INTEGER in more octets than needed');
      return;
    case 0x03: {
      // X.690 §11.2: unused bits 0-7, none in an empty string, and set to zero
      const unused = first ?? 8;
      if (len === 0 || unused > 7 || (len === 1 && unused !== 0) || (len > 1 && buf[e.end - 1]! & ((1 << unused) - 1))) throw notDer('a BIT STRING with bad unused bits');
      return;
    }
    case 0x05:
      if (len !== 0) throw notDer('a NULL with contents');
      return;
    case 0x06:
      if (oidText(buf, e.start, e.end) === null) throw notDer('a malformed OBJECT IDENTIFIER');
      return;
    case 0x10:
    case 0x11:
      throw notDer('a primitive SEQUENCE or SET');
  }
}

/** The children of a constructed element, already walked. */
function children(buf: Uint8Array, e: Element): Element[] {
  const out: Element[] = [];
  for (let p = e.start; p < e.end; ) {
    const c = header(buf, p, e.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** The DER rules that need the CertificationRequest's schema (RFC 2986 §4.1, RFC 5280 §4.1). */
function checkSchemaRules(der: Uint8Array, outer: Element): void {
  if (outer.tag !== 0x30) return; // not a SEQUENCE: every parser refuses it
  const info = children(der, outer)[0];
  if (info?.tag !== 0x30) return;
  const [, , spki, attrs] = children(der, info);
  if (spki?.tag === 0x30) checkRsaKey(der, spki);
  if (attrs?.tag !== 0xa0) return;
  for (const attr of children(der, attrs)) {
    const [type, values] = attr.tag === 0x30 ? children(der, attr) : [];
    if (type?.tag !== 0x06 || !bytesEqual(der, type.start, type.end, EXTENSION_REQUEST) || values?.tag !== 0x31) continue;
    for (const exts of children(der, values)) {
      if (exts.tag !== 0x30) continue;
      for (const ext of children(der, exts)) if (ext.tag === 0x30) checkExtension(der, ext);
    }
  }
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function checkExtension(der: Uint8Array, ext: Element): void {
  const parts = children(der, ext);
  const id = parts[0];
  // X.690 §11.5: a value equal to its DEFAULT is absent.
  if (parts[1]?.tag === 0x01 && der[parts[1].start] === 0x00) throw notDer('an extension marked critical FALSE explicitly (DEFAULT FALSE is left out in DER)');
  const value = parts[parts.length - 1];
  if (!id || id.tag !== 0x06 || value?.tag !== 0x04) return;
  const inner = requireOne(der, value.start, value.end, 1);
  if (bytesEqual(der, id.start, id.end, BASIC_CONSTRAINTS) && inner.tag === 0x30) {
    const cA = children(der, inner)[0];
    if (cA?.tag === 0x01 && der[cA.start] === 0x00) throw notDer('basicConstraints with cA FALSE written out (DEFAULT FALSE is left out in DER)');
  }
}

/** An RSA SubjectPublicKeyInfo's key is itself a DER RSAPublicKey (RFC 8017 §A.1.1). */
function checkRsaKey(der: Uint8Array, spki: Element): void {
  const [algId, bits] = children(der, spki);
  const oid = algId?.tag === 0x30 ? children(der, algId)[0] : undefined;
  if (oid?.tag !== 0x06 || !bytesEqual(der, oid.start, oid.end, RSA_ENCRYPTION) || bits?.tag !== 0x03 || bits.end - bits.start < 2) return;
  requireOne(der, bits.start + 1, bits.end, 1);
}
