/**
 * The few DER primitives the hot paths need and no library offers at their speed:
 * a strict TLV reader (used to pull CertIDs out of OCSP requests without a generic ASN.1
 * parse) and a TLV writer (used to encode a CRL's revoked list directly, which is
 * ~100× faster than building one object per entry, and to wrap already-encoded parts:
 * the outer Certificate / BasicOCSPResponse SEQUENCE around signed bytes). Everything
 * else is encoded with @peculiar/asn1-* objects.
 */

/** One DER element: tag byte, the value's bounds inside `buf`, and where the next element starts. */
export interface Tlv {
  tag: number;
  start: number; // first value byte
  end: number; // one past the last value byte
}

/**
 * Reads the element at `pos`, strictly: single-byte tags only, definite minimal lengths,
 * value inside `limit`. Returns null on anything else, so callers can fall back to a full parser.
 */
export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv | null {
  if (pos + 2 > limit) return null;
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) return null; // multi-byte tag
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > limit) return null; // indefinite or absurd lengths
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i]!;
    if (buf[start] === 0 || len < 0x80) return null; // not minimal: DER forbids it
    start += n;
  }
  const end = start + len;
  if (end > limit) return null;
  return { tag, start, end };
}

/** The DER length octets for `len`. */
export function derLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  if (len < 0x100) return Uint8Array.of(0x81, len);
  if (len < 0x10000) return Uint8Array.of(0x82, len >> 8, len & 0xff);
  if (len < 0x1000000) return Uint8Array.of(0x83, len >> 16, (len >> 8) & 0xff, len & 0xff);
  return Uint8Array.of(0x84, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff);
}

/** Tag + length + the given parts, concatenated into one buffer. */
export function derTlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = derLength(len);
  const out = new Uint8Array(1 + head.length + len);
  out[0] = tag;
  out.set(head, 1);
  let o = 1 + head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** DER INTEGER contents of a positive serial given as hex (adds a zero octet when the top bit is set). */
export function serialContents(hex: string): Uint8Array {
  const raw = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  // A fresh Uint8Array, not a view into Buffer's shared pool (whose .buffer is the whole pool).
  const out = new Uint8Array(raw.length + (raw[0]! & 0x80 ? 1 : 0));
  out.set(raw, out.length - raw.length);
  return out;
}

/** Lowercase hex of INTEGER contents as our store keys serials (no leading zero octet unless needed). */
export function serialHexOf(contents: Uint8Array): string {
  let i = 0;
  while (i < contents.length - 1 && contents[i] === 0 && contents[i + 1]! < 0x80) i++;
  return Buffer.from(contents.buffer, contents.byteOffset + i, contents.length - i).toString('hex');
}

/**
 * UTCTime for years 1950-2049 and GeneralizedTime otherwise, as RFC 5280 §4.1.2.5 and §5.1.2.4 require,
 * at whole-second precision.
 */
export function derTime(unixSeconds: number): Uint8Array {
  const d = new Date(unixSeconds * 1000);
  const y = d.getUTCFullYear();
  const two = (n: number) => (n < 10 ? '0' + n : String(n));
  const rest = two(d.getUTCMonth() + 1) + two(d.getUTCDate()) + two(d.getUTCHours()) + two(d.getUTCMinutes()) + two(d.getUTCSeconds()) + 'Z';
  if (y >= 1950 && y < 2050) return derTlv(0x17, Buffer.from(two(y % 100) + rest, 'latin1'));
  return derTlv(0x18, Buffer.from(String(y).padStart(4, '0') + rest, 'latin1'));
}

/** GeneralizedTime at whole-second precision (what OCSP uses for every time, RFC 6960 §4.2.1). */
export function derGeneralizedTime(unixSeconds: number): Uint8Array {
  const d = new Date(unixSeconds * 1000);
  const two = (n: number) => (n < 10 ? '0' + n : String(n));
  const text = String(d.getUTCFullYear()).padStart(4, '0') + two(d.getUTCMonth() + 1) + two(d.getUTCDate()) + two(d.getUTCHours()) + two(d.getUTCMinutes()) + two(d.getUTCSeconds()) + 'Z';
  return derTlv(0x18, Buffer.from(text, 'latin1'));
}

/** DER OBJECT IDENTIFIER (tag and all) for a dotted OID; for constants and caches, not per-request input. */
export function derOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const body: number[] = [];
  const push = (v: number) => {
    const septets = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) septets.unshift((v & 0x7f) | 0x80);
    body.push(...septets);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return derTlv(0x06, Uint8Array.from(body));
}

/**
 * Dotted text of OBJECT IDENTIFIER contents, strictly: no empty contents, minimal base-128 arcs
 * (no 0x80 lead octet), complete last arc, arcs within 2^53. Null otherwise.
 */
export function oidText(buf: Uint8Array, start: number, end: number): string | null {
  if (start >= end || buf[end - 1]! & 0x80) return null;
  const arcs: number[] = [];
  let v = 0;
  let first = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (first && b === 0x80) return null;
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) return null;
    first = (b & 0x80) === 0;
    if (first) {
      if (arcs.length === 0) arcs.push(v < 40 ? 0 : v < 80 ? 1 : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

/** True when `buf[start, end)` equals `bytes`. */
export function bytesEqual(buf: Uint8Array, start: number, end: number, bytes: Uint8Array): boolean {
  if (end - start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
  return true;
}
