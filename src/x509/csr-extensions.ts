/**
 * What the policy does with each requested extension beyond SAN, basicConstraints and EKU: every
 * one is honoured (the leaf carries it) or refused with a reason, never dropped in silence.
 * - keyUsage (RFC 5280 §4.2.1.3): the bits are collected; the authority refuses any its leaf
 *   profile does not grant (authority/leaf.ts), as it does for EKUs (keyEncipherment with an EC
 *   key excepted: no EC certificate may carry it, and common clients ask for it regardless).
 * - subjectKeyIdentifier (§4.2.1.2): honoured when it is the key's method-1 identifier, which
 *   the leaf carries; any other value is refused.
 * - TLS Feature (RFC 7633, must-staple): honoured, copied byte for byte, when it asks for
 *   status_request (5) and/or status_request_v2 (17) only, non-critical (§4.2: SHOULD NOT be
 *   critical): pki pre-signs an OCSP response for every leaf, so a server can always staple one.
 * - anything else is refused: pki puts no extension it does not understand into a certificate.
 * Values are DER (the gate, csr-der-check.ts, walked them), read with the strict readTlv.
 */
import { CaError } from '../domain/errors.ts';
import { readTlv } from '../domain/der.ts';

export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SUBJECT_KEY_ID = '2.5.29.14';
export const OID_TLS_FEATURE = '1.3.6.1.5.5.7.1.24';

/** RFC 5280 §4.2.1.3 KeyUsage bit names, bit 0 first. */
export const KEY_USAGE_NAMES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'] as const;

/** RFC 7633 §2 features pki can promise: a stapled OCSP response (RFC 6066 status_request, RFC 6961 status_request_v2). */
const STAPLING_FEATURES = new Set([5, 17]);

export interface OtherExtensionVerdicts {
  keyUsage?: string[];
  tlsFeature?: Uint8Array;
}

/** Judges one extension the parsers pass on raw; throws CaError('badCsr') for anything pki will not honour. */
export function judgeOtherExtension(ext: { id: string; critical: boolean; value: Uint8Array }, subjectKeyId: string, into: OtherExtensionVerdicts): void {
  switch (ext.id) {
    case OID_KEY_USAGE:
      into.keyUsage = keyUsageNames(ext.value);
      return;
    case OID_SUBJECT_KEY_ID: {
      const ski = readTlv(ext.value, 0, ext.value.length);
      const hex = ski && ski.tag === 0x04 ? Buffer.from(ext.value.subarray(ski.start, ski.end)).toString('hex') : null;
      if (hex !== subjectKeyId) throw new CaError('badCsr', `the CSR asks for subject key identifier ${hex ?? '(unreadable)'}; the certificate carries the key's own, ${subjectKeyId} (RFC 5280 §4.2.1.2 method 1)`);
      return;
    }
    case OID_TLS_FEATURE:
      if (ext.critical) throw new CaError('badCsr', 'the CSR asks for a critical TLS Feature extension; pki issues it non-critical only (RFC 7633 §4.2)');
      checkTlsFeature(ext.value);
      into.tlsFeature = ext.value;
      return;
    default:
      if (ext.critical) throw new CaError('badCsr', `the CSR asks for unsupported critical extension ${ext.id}`);
      throw new CaError('badCsr', `the CSR asks for extension ${ext.id}, which pki does not put in certificates (only subjectAltName, basicConstraints CA:false, keyUsage, extKeyUsage, subjectKeyIdentifier and TLS Feature are honoured)`);
  }
}

/** KeyUsage ::= BIT STRING, as names. */
function keyUsageNames(value: Uint8Array): string[] {
  const bits = readTlv(value, 0, value.length);
  if (!bits || bits.tag !== 0x03 || bits.end !== value.length || bits.end - bits.start < 2) throw new CaError('badCsr', 'the CSR asks for a keyUsage that cannot be read');
  const names: string[] = [];
  for (let i = 0; i < (bits.end - bits.start - 1) * 8 - value[bits.start]!; i++) {
    if (value[bits.start + 1 + (i >> 3)]! & (0x80 >> (i & 7))) {
      if (i >= KEY_USAGE_NAMES.length) throw new CaError('badCsr', `the CSR asks for keyUsage bit ${i}, which RFC 5280 §4.2.1.3 does not define`);
      names.push(KEY_USAGE_NAMES[i]!);
    }
  }
  return names;
}

/** Features ::= SEQUENCE OF INTEGER (RFC 7633 §6), at least one, each a stapling feature, none twice. */
function checkTlsFeature(value: Uint8Array): void {
  const seq = readTlv(value, 0, value.length);
  if (!seq || seq.tag !== 0x30 || seq.end !== value.length || seq.start === seq.end) throw new CaError('badCsr', 'the CSR asks for a TLS Feature extension that is not a non-empty SEQUENCE OF INTEGER (RFC 7633 §6)');
  const seen = new Set<number>();
  for (let pos = seq.start; pos < seq.end; ) {
    const n = readTlv(value, pos, seq.end);
    const feature = n && n.tag === 0x02 && n.end - n.start <= 2 ? value.subarray(n.start, n.end).reduce((v, b) => v * 256 + b, 0) : -1;
    if (!STAPLING_FEATURES.has(feature)) throw new CaError('badCsr', 'the CSR asks for a TLS feature other than status_request (5) or status_request_v2 (17); pki can promise only OCSP stapling (RFC 7633)');
    if (seen.has(feature)) throw new CaError('badCsr', `the CSR asks for TLS feature ${feature} twice`);
    seen.add(feature);
    pos = n!.end;
  }
}
