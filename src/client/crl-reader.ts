import { oidText, readTlv, serialHexOf, type Tlv } from '../domain/der.ts';

/** What a relying party needs from a CRL: the signed bytes, the validity, the number, and one entry looked up. */
export interface CrlView {
  tbs: Uint8Array;
  signatureAlgorithm: string; // OID
  signature: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date | null;
  number: bigint | null;
  entries: number;
  find(serialHex: string): { revokedAt: Date; reason: number | null } | null;
}

const CRL_NUMBER = '2.5.29.20';
const REASON_CODE = '2.5.29.21';

/**
 * Reads an X.509 CRL by walking its DER. Generic parsers build an object per node and stop
 * at 10,000 nodes by default (a CRL of ~2,000 entries); this stays flat for any size.
 * Throws on anything that is not a well-formed CRL.
 */
export function readCrl(der: Uint8Array): CrlView {
  const need = (t: Tlv | null, tag: number, what: string): Tlv => {
    if (!t || t.tag !== tag) throw new Error(`not a CRL: bad ${what}`);
    return t;
  };
  const outer = need(readTlv(der, 0, der.length), 0x30, 'CertificateList');
  const tbsTlv = need(readTlv(der, outer.start, outer.end), 0x30, 'TBSCertList');
  const tbsStart = outer.start;
  const alg = need(readTlv(der, tbsTlv.end, outer.end), 0x30, 'signatureAlgorithm');
  const algOid = need(readTlv(der, alg.start, alg.end), 0x06, 'algorithm');
  const sig = need(readTlv(der, alg.end, outer.end), 0x03, 'signature');

  let p = tbsTlv.start;
  let t = readTlv(der, p, tbsTlv.end);
  if (t?.tag === 0x02) t = readTlv(der, (p = t.end), tbsTlv.end); // version
  const sigAlg = need(t, 0x30, 'signature');
  const issuer = need(readTlv(der, sigAlg.end, tbsTlv.end), 0x30, 'issuer');
  const thisUpdate = readTlv(der, issuer.end, tbsTlv.end);
  if (!thisUpdate || (thisUpdate.tag !== 0x17 && thisUpdate.tag !== 0x18)) throw new Error('not a CRL: bad thisUpdate');
  p = thisUpdate.end;
  let nextUpdate: Date | null = null;
  let revoked: Tlv | null = null;
  let number: bigint | null = null;
  while (p < tbsTlv.end) {
    const f = readTlv(der, p, tbsTlv.end);
    if (!f) throw new Error('not a CRL: bad field');
    if (f.tag === 0x17 || f.tag === 0x18) nextUpdate = time(der, f);
    else if (f.tag === 0x30) revoked = f;
    else if (f.tag === 0xa0) {
      const ext = extensionValue(der, need(readTlv(der, f.start, f.end), 0x30, 'crlExtensions'), CRL_NUMBER);
      const n = ext && readTlv(der, ext.start, ext.end);
      if (n?.tag === 0x02) number = BigInt('0x' + (serialHexOf(der.subarray(n.start, n.end)) || '0'));
    }
    p = f.end;
  }

  let entries = 0;
  const index = new Map<string, { start: number; end: number }>();
  if (revoked) {
    for (let q = revoked.start; q < revoked.end; ) {
      const e = need(readTlv(der, q, revoked.end), 0x30, 'revokedCertificate');
      const serial = need(readTlv(der, e.start, e.end), 0x02, 'userCertificate');
      index.set(serialHexOf(der.subarray(serial.start, serial.end)), { start: serial.end, end: e.end });
      entries++;
      q = e.end;
    }
  }
  return {
    tbs: der.subarray(tbsStart, tbsTlv.end),
    signatureAlgorithm: oidText(der, algOid.start, algOid.end) ?? '',
    signature: der.subarray(sig.start + 1, sig.end), // skip the unused-bits octet
    thisUpdate: time(der, thisUpdate),
    nextUpdate,
    number,
    entries,
    find(serialHex) {
      const at = index.get(serialHex.toLowerCase());
      if (!at) return null;
      const date = readTlv(der, at.start, at.end)!;
      let reason: number | null = null;
      const exts = readTlv(der, date.end, at.end);
      if (exts?.tag === 0x30) {
        const v = extensionValue(der, exts, REASON_CODE);
        const e = v && readTlv(der, v.start, v.end);
        if (e?.tag === 0x0a) reason = der[e.start]!;
      }
      return { revokedAt: time(der, date), reason };
    },
  };
}

/** The extnValue contents of the extension with `oid` in an Extensions SEQUENCE, or null. */
function extensionValue(der: Uint8Array, exts: Tlv, oid: string): Tlv | null {
  for (let p = exts.start; p < exts.end; ) {
    const ext = readTlv(der, p, exts.end);
    if (!ext) return null;
    const id = readTlv(der, ext.start, ext.end);
    if (id?.tag === 0x06 && oidText(der, id.start, id.end) === oid) {
      let v = readTlv(der, id.end, ext.end);
      if (v?.tag === 0x01) v = readTlv(der, v.end, ext.end); // critical flag
      return v?.tag === 0x04 ? v : null;
    }
    p = ext.end;
  }
  return null;
}

function time(der: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(der.subarray(t.start, t.end)).toString('latin1');
  const m = (t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/ : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/).exec(s);
  if (!m) throw new Error(`not a CRL: bad time "${s}"`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
