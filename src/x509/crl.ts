import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import type { Signer } from '../domain/signer.ts';
import { signatureAlgorithmDer, signOnce } from './certificate.ts';
import { derTime, derTlv } from '../domain/der.ts';

/** A revoked certificate as a CRL lists it. */
export interface CrlEntry {
  serial: string; // lowercase hex
  revokedAt: number; // unix seconds
  reason: number | null;
}

export interface CrlContents {
  /** DER Name of the issuer (its certificate's subject). */
  issuerName: Uint8Array;
  /** Hex SKI of the issuer key, for the AKI extension. */
  issuerKeyId: string;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /**
   * The CDP URL this CRL answers for when it is one shard of several: written into a critical
   * IssuingDistributionPoint so a shard is never taken for the whole list (RFC 5280 §5.2.5).
   * Null for a complete CRL (one shard): no IDP, so it covers every certificate of the issuer
   * (RFC 5280 §6.3.3) and verifiers that refuse any critical CRL extension (mbedTLS 2.28) read it.
   */
  distributionPoint: string | null;
  /** Entries in any order; iterated once. */
  entries: Iterable<CrlEntry>;
}

/**
 * Builds and signs an X.509 v2 CRL (RFC 5280 §5). The extensions and algorithm
 * identifiers are built with @peculiar/asn1-x509; the revoked list, which may hold a
 * million entries, is written straight into one growing buffer (a generic object per
 * entry costs ~0.5 ms, a direct encoding well under a microsecond). The signature goes
 * through the issuer's Signer, so an HSM-held key works the same way.
 */
export async function buildCrl(c: CrlContents, signer: Signer): Promise<{ der: Uint8Array; entries: number }> {
  const revoked = encodeRevokedList(c.entries);
  const tbs = derTlv(
    0x30,
    Uint8Array.of(0x02, 0x01, 0x01), // version v2
    signatureAlgorithmDer(signer.alg),
    c.issuerName,
    derTime(Math.floor(c.thisUpdate.getTime() / 1000)),
    derTime(Math.floor(c.nextUpdate.getTime() / 1000)),
    // RFC 5280 §5.1.2.6: when nothing is revoked the list is absent, not empty.
    ...(revoked.count > 0 ? [derTlv(0x30, revoked.bytes)] : []),
    derTlv(0xa0, crlExtensions(c)),
  );
  return { der: await signOnce(tbs, signer, 'CRL'), entries: revoked.count };
}

function crlExtensions(c: CrlContents): Uint8Array {
  const ext = (extnID: string, critical: boolean, value: object) =>
    new asn1X509.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const exts = new asn1X509.Extensions([
    ext(asn1X509.id_ce_authorityKeyIdentifier, false, new asn1X509.AuthorityKeyIdentifier({ keyIdentifier: new asn1X509.KeyIdentifier(Buffer.from(c.issuerKeyId, 'hex')) })),
    ext(asn1X509.id_ce_cRLNumber, false, new asn1X509.CRLNumber(Number(c.number))),
  ]);
  if (c.distributionPoint !== null) {
    // Critical per RFC 5280 §5.2.5; names the shard's URL, exactly as the certificates' CDP does.
    exts.push(
      ext(
        asn1X509.id_ce_issuingDistributionPoint,
        true,
        new asn1X509.IssuingDistributionPoint({
          distributionPoint: new asn1X509.DistributionPointName({ fullName: [new asn1X509.GeneralName({ uniformResourceIdentifier: c.distributionPoint })] }),
          onlyContainsUserCerts: true,
        }),
      ),
    );
  }
  return new Uint8Array(AsnConvert.serialize(exts));
}

/** The reasonCode entry extension for each reason, built once by the library (absent for unspecified, per RFC 5280 §5.3.1). */
const reasonExtensions = new Map<number, Uint8Array>();
function reasonExtension(reason: number): Uint8Array {
  let e = reasonExtensions.get(reason);
  if (!e) {
    const ext = new asn1X509.Extension({ extnID: asn1X509.id_ce_cRLReasons, critical: false, extnValue: new OctetString(AsnConvert.serialize(new asn1X509.CRLReason(reason))) });
    e = new Uint8Array(AsnConvert.serialize(new asn1X509.Extensions([ext])));
    reasonExtensions.set(reason, e);
  }
  return e;
}

/**
 * Writes each entry (SEQUENCE { serial, revocationDate, [crlEntryExtensions] }) into one
 * growing buffer, without a per-entry allocation: this loop runs a million times for a big CRL.
 */
function encodeRevokedList(entries: Iterable<CrlEntry>): { bytes: Uint8Array; count: number } {
  let buf = new Uint8Array(1 << 20);
  let len = 0;
  let count = 0;
  let lastSecond = -1;
  let time: Uint8Array = new Uint8Array(0);
  for (const e of entries) {
    if (e.revokedAt !== lastSecond) {
      time = derTime(e.revokedAt);
      lastSecond = e.revokedAt;
    }
    const ext = e.reason ? reasonExtension(e.reason) : null;
    const hex = e.serial;
    const odd = hex.length & 1;
    const rawLen = (hex.length + odd) >> 1;
    const firstNibble = odd ? 0 : hexValue(hex.charCodeAt(0));
    const pad = firstNibble >= 8 ? 1 : 0; // keep the INTEGER positive
    const serialLen = rawLen + pad;
    if (serialLen > 127) throw new Error(`serial ${hex} is too long`);
    const bodyLen = 2 + serialLen + time.length + (ext ? ext.length : 0);
    const need = 4 + bodyLen;
    if (len + need > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, len + need));
      bigger.set(buf.subarray(0, len));
      buf = bigger;
    }
    buf[len++] = 0x30;
    if (bodyLen < 0x80) buf[len++] = bodyLen;
    else {
      buf[len++] = 0x81;
      buf[len++] = bodyLen;
    }
    buf[len++] = 0x02;
    buf[len++] = serialLen;
    if (pad) buf[len++] = 0;
    let i = 0;
    if (odd) buf[len++] = hexValue(hex.charCodeAt(i++));
    for (; i < hex.length; i += 2) buf[len++] = (hexValue(hex.charCodeAt(i)) << 4) | hexValue(hex.charCodeAt(i + 1));
    buf.set(time, len);
    len += time.length;
    if (ext) {
      buf.set(ext, len);
      len += ext.length;
    }
    count++;
  }
  return { bytes: buf.subarray(0, len), count };
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  throw new Error('serial is not hexadecimal');
}
