import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import * as asn1X509 from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/keystore/file.ts';
import { verifySignature } from '../../src/x509/certificate.ts';
import { buildCrl, type CrlEntry } from '../../src/x509/crl.ts';
import { x509 } from '../../src/x509/x509.ts';
import { tempDir } from '../helpers/tmp.ts';

async function signer() {
  const ks = new FileKeyStore(tempDir(), 'test-passphrase');
  await ks.createKey({ label: 'crl', alg: 'ecdsa-p256' });
  return ks.getSigner({ label: 'crl' });
}

const contents = (entries: CrlEntry[]) => ({
  issuerName: new Uint8Array(new x509.Name('CN=Test Intermediate, O=Test').toArrayBuffer()),
  issuerKeyId: 'ab'.repeat(20),
  number: 42n,
  thisUpdate: new Date('2026-01-01T00:00:00Z'),
  nextUpdate: new Date('2026-01-02T00:00:00Z'),
  distributionPoint: 'http://ca.example/crl/abab/0.crl',
  entries,
});

describe('CRL encoder', () => {
  it('ok/the direct encoding is exactly what @peculiar/asn1-x509 decodes and re-encodes, and the signature verifies', async () => {
    const s = await signer();
    const entries: CrlEntry[] = [
      { serial: '4a' + '00'.repeat(15), revokedAt: 1767225600, reason: 1 },
      { serial: 'ff01', revokedAt: 1767225601, reason: 0 }, // top bit set: needs a zero octet
      { serial: '01', revokedAt: 2556143999, reason: 4 }, // 2050: GeneralizedTime
      { serial: '7f', revokedAt: 1767225602, reason: null },
    ];
    const { der, entries: n } = await buildCrl(contents(entries), s);
    expect(n).toBe(4);
    const parsed = AsnConvert.parse(der, asn1X509.CertificateList);
    expect(Buffer.from(AsnConvert.serialize(parsed)).equals(Buffer.from(der))).toBe(true);
    const tbs = new Uint8Array(AsnConvert.serialize(parsed.tbsCertList));
    expect(verifySignature(s.alg, s.publicKeySpki, tbs, new Uint8Array(parsed.signature))).toBe(true);

    const crl = new x509.X509Crl(new Uint8Array(der));
    expect(crl.entries.map((e) => e.serialNumber.toLowerCase())).toEqual(['4a' + '00'.repeat(15), 'ff01', '01', '7f']);
    expect(crl.entries[0]!.reason).toBe(x509.X509CrlReason.keyCompromise);
    expect(crl.entries[1]!.reason).toBeUndefined(); // unspecified is left out (RFC 5280 §5.3.1)
    expect(crl.entries[2]!.revocationDate.toISOString()).toBe('2050-12-31T23:59:59.000Z');
    expect(crl.entries[2]!.reason).toBe(x509.X509CrlReason.superseded);
    const number = parsed.tbsCertList.crlExtensions!.find((e) => e.extnID === asn1X509.id_ce_cRLNumber)!;
    expect(AsnConvert.parse(number.extnValue, asn1X509.CRLNumber).value).toBe(42);
    const idp = parsed.tbsCertList.crlExtensions!.find((e) => e.extnID === asn1X509.id_ce_issuingDistributionPoint)!;
    expect(idp.critical).toBe(true);
    expect(parsed.tbsCertList.crlExtensions!.some((e) => e.extnID === asn1X509.id_ce_authorityKeyIdentifier)).toBe(true);
  });

  it('regression/a complete CRL (no shard URL) carries no Issuing Distribution Point and no critical extension at all', async () => {
    const s = await signer();
    const { der } = await buildCrl({ ...contents([{ serial: '4a01', revokedAt: 1767225600, reason: 1 }]), distributionPoint: null }, s);
    const parsed = AsnConvert.parse(der, asn1X509.CertificateList);
    expect(Buffer.from(AsnConvert.serialize(parsed)).equals(Buffer.from(der))).toBe(true);
    const exts = parsed.tbsCertList.crlExtensions!;
    expect(exts.map((e) => e.extnID).sort()).toEqual([asn1X509.id_ce_authorityKeyIdentifier, asn1X509.id_ce_cRLNumber].sort());
    expect(exts.some((e) => e.critical)).toBe(false);
    expect(verifySignature(s.alg, s.publicKeySpki, new Uint8Array(AsnConvert.serialize(parsed.tbsCertList)), new Uint8Array(parsed.signature))).toBe(true);
  });

  it('ok/with nothing revoked the revoked list is absent, not empty (RFC 5280 §5.1.2.6)', async () => {
    const { der } = await buildCrl(contents([]), await signer());
    const parsed = AsnConvert.parse(der, asn1X509.CertificateList);
    expect(parsed.tbsCertList.revokedCertificates).toBeUndefined();
    expect(parsed.tbsCertList.version).toBe(asn1X509.Version.v2);
  });

  it('ok/50,000 entries build in well under a second and parse back', async () => {
    const entries = function* () {
      for (let i = 0; i < 50_000; i++) yield { serial: (0x40000000 + i).toString(16) + 'a'.repeat(24), revokedAt: 1767225600 + i, reason: i % 3 };
    };
    const t = performance.now();
    const { der, entries: n } = await buildCrl(contents([...entries()]), await signer());
    expect(performance.now() - t).toBeLessThan(3000);
    expect(n).toBe(50_000);
    // asn1js stops at 10,000 nodes by default (STACK-NOTES): raise the limit for a big CRL.
    const ber = asn1js.fromBER(der, { maxNodes: 1_000_000 });
    expect(ber.offset).toBe(der.length);
    const tbs = (ber.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
    expect((tbs.valueBlock.value[5] as asn1js.Sequence).valueBlock.value).toHaveLength(50_000);
  });
});
