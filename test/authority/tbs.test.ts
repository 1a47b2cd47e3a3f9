import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { AsnConvert } from '@peculiar/asn1-schema';
import { describe, expect, it } from 'vitest';
import { subjectNameDer } from '../../src/authority/leaf.ts';
import { lintTemplate, REQUIRED_EXTENSIONS } from '../../src/authority/lint.ts';
import { LEAF_PROFILES, LeafExtensionBuilder, issuerUrls } from '../../src/authority/profiles.ts';
import type { KeyAlg } from '../../src/domain/algorithms.ts';
import { tbsCertificateDer, type CertificateTemplate } from '../../src/x509/certificate.ts';
import { x509 } from '../../src/x509/x509.ts';
import { referenceLeafExtensions, referenceSubjectName, referenceTbsCertificateDer } from './reference-encoder.ts';

/** The direct TBSCertificate encoder writes exactly the bytes the asn1-schema encoder wrote, for every leaf shape. */
const spki = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => new Uint8Array(k.export({ type: 'spki', format: 'der' }));
const keys = [
  spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
  spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey),
  spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey),
];
const issuers = ['CN=Corp Intermediate CA, O=Corp, C=DE', 'CN=Zwischen-CA Ü', 'O=No CN Issuer'].map((n) => new Uint8Array(new x509.Name(n).toArrayBuffer()));
const signerAlgs: KeyAlg[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'];

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const dns = fc.tuple(fc.boolean(), fc.array(label, { minLength: 1, maxLength: 4 })).map(([w, l]) => [...(w ? ['*'] : []), ...l].join('.'));
const ip = fc.oneof(fc.ipV4(), fc.ipV6().filter((v) => !v.includes('.'))); // mixed notation: refused by asn1-x509's converter
const uriPath = fc.oneof(label, fc.string({ unit: 'grapheme', maxLength: 8 }).map(encodeURIComponent));
const san = fc.oneof(
  dns.map((value) => ({ type: 'dns' as const, value })),
  ip.map((value) => ({ type: 'ip' as const, value: value.toLowerCase() })),
  uriPath.map((value) => ({ type: 'uri' as const, value: `spiffe://corp/${value}` })),
);
const commonName = fc.option(fc.oneof(dns, ip, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 })));
/** Positive serials as lint accepts them: 1-20 octets, a zero octet only before a high bit. */
const serial = fc.uint8Array({ minLength: 1, maxLength: 19 }).map((b) => {
  const hexText = hex(b).replace(/^(00)+/, '') || '01';
  return parseInt(hexText.slice(0, 2), 16) >= 0x80 ? '00' + hexText : hexText;
});
const Y2050 = Date.UTC(2050, 0, 1) / 1000;
const seconds = fc.oneof(fc.integer({ min: Date.UTC(1950, 0, 1) / 1000, max: Date.UTC(2100, 0, 1) / 1000 }), fc.integer({ min: Y2050 - 3 * 86400, max: Y2050 + 3 * 86400 }));

describe('direct TBSCertificate encoder', () => {
  it('equals the asn1-schema encoder byte for byte: serials, names, validity around 2050, SANs, profiles, RSA/EC keys, shards', () => {
    fc.assert(
      fc.property(
        fc.record({
          serial,
          cn: commonName,
          sans: fc.array(san, { minLength: 1, maxLength: 6 }),
          times: fc.tuple(seconds, seconds),
          profile: fc.constantFrom(...Object.values(LEAF_PROFILES)),
          key: fc.nat(keys.length - 1),
          signer: fc.constantFrom(...signerAlgs),
          issuer: fc.nat(issuers.length - 1),
          shards: fc.integer({ min: 1, max: 64 }),
          ski: fc.uint8Array({ minLength: 20, maxLength: 20 }),
        }),
        (r) => {
          const urls = issuerUrls('http://ca.test:9080', 'ab'.repeat(20));
          const leaf = {
            authorityKeyId: 'cd'.repeat(20),
            urls,
            profile: r.profile,
            sans: r.sans,
            subjectKeyId: hex(r.ski),
            isRsa: r.key === 2,
            crlShard: parseInt(r.serial.slice(-8), 16) % r.shards,
            subjectIsEmpty: r.cn === null,
          };
          const [notBefore, notAfter] = r.times.map((s) => new Date(s * 1000)) as [Date, Date];
          const common = { serial: r.serial, issuerName: issuers[r.issuer]!, notBefore, notAfter, publicKeySpki: keys[r.key]! };
          const direct: CertificateTemplate = { ...common, subjectName: subjectNameDer(r.cn), extensions: new LeafExtensionBuilder(leaf).build(leaf) };
          const reference: CertificateTemplate = { ...common, subjectName: referenceSubjectName(r.cn), extensions: referenceLeafExtensions(leaf) };
          expect(hex(tbsCertificateDer(direct, r.signer))).toBe(hex(referenceTbsCertificateDer(reference, r.signer)));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('subject: empty or CN only, as the asn1-x509 objects and (for names x509.Name can parse) x509.Name encode it', () => {
    fc.assert(
      fc.property(commonName, (cn) => {
        expect(hex(subjectNameDer(cn))).toBe(hex(new Uint8Array(AsnConvert.serialize(referenceSubjectName(cn)))));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.option(fc.oneof(dns, ip)), (cn) => {
        const want = cn === null ? new x509.Name([]) : new x509.Name([{ CN: [cn] }]);
        expect(hex(subjectNameDer(cn))).toBe(hex(new Uint8Array(want.toArrayBuffer())));
      }),
      { numRuns: 300 },
    );
  });

  it('lint still refuses what it refused: negative serial, superfluous zero, inverted validity, missing and repeated extensions', () => {
    const leaf = { authorityKeyId: 'cd'.repeat(20), urls: issuerUrls('http://ca.test', 'ab'), profile: LEAF_PROFILES.default!, sans: [{ type: 'dns' as const, value: 'a.test' }], subjectKeyId: '01'.repeat(20), isRsa: false, crlShard: 0, subjectIsEmpty: true };
    const exts = new LeafExtensionBuilder(leaf).build(leaf);
    const issuer = { issuer: { notBefore: new Date(0), notAfter: new Date(Date.UTC(2060, 0, 1)) }, required: REQUIRED_EXTENSIONS.leaf };
    const tpl: CertificateTemplate = { serial: '4f01', issuerName: issuers[0]!, subjectName: subjectNameDer(null), notBefore: new Date(1000_000), notAfter: new Date(2000_000), publicKeySpki: keys[0]!, extensions: exts };
    expect(() => lintTemplate(tpl, issuer)).not.toThrow();
    const refused = (t: Partial<CertificateTemplate>, message: string) => expect(() => lintTemplate({ ...tpl, ...t }, issuer)).toThrow(message);
    refused({ serial: '80' }, 'serial must be positive');
    refused({ serial: '0001' }, 'superfluous leading zero');
    refused({ notAfter: tpl.notBefore }, 'notAfter must be after notBefore');
    refused({ extensions: [...exts, exts[0]!] }, 'an extension appears twice');
    refused({ extensions: exts.filter((e) => e.extnID !== '2.5.29.35') }, 'extension 2.5.29.35 is missing');
  });
});
