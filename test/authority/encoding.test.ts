import fc from 'fast-check';
import { AsnConvert } from '@peculiar/asn1-schema';
import { describe, expect, it } from 'vitest';
import { subjectNameFor } from '../../src/authority/authority.ts';
import { LEAF_PROFILES, LeafExtensionBuilder, issuerUrls } from '../../src/authority/profiles.ts';
import { x509 } from '../../src/signer/x509.ts';

/** The leaf parts built directly as asn1-x509 objects encode byte for byte as @peculiar/x509's classes would. */
const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,12}$/);
const dns = fc.tuple(fc.option(fc.constant('*')), fc.array(label, { minLength: 1, maxLength: 4 })).map(([w, l]) => [...(w ? [w] : []), ...l].join('.'));
const ip = fc.oneof(fc.ipV4(), fc.ipV6().filter((v) => !v.includes('.'))); // mixed IPv6 notation: refused by asn1-x509's converter either way

describe('leaf encoding matches @peculiar/x509', () => {
  it('subject: empty or CN only, PrintableString or UTF8String as x509.Name chooses', () => {
    fc.assert(
      fc.property(fc.option(fc.oneof(dns, ip)), (cn) => {
        const want = cn === null ? new x509.Name([]) : new x509.Name([{ CN: [cn] }]);
        expect(Buffer.from(AsnConvert.serialize(subjectNameFor(cn))).toString('hex')).toBe(Buffer.from(want.toArrayBuffer()).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('SAN and SKI extensions', () => {
    const builder = new LeafExtensionBuilder({ authorityKeyId: 'ab'.repeat(20), urls: issuerUrls('http://ca.test', 'ab') });
    const id = fc.oneof(
      dns.map((value) => ({ type: 'dns' as const, value: value.toLowerCase() })),
      ip.map((value) => ({ type: 'ip' as const, value })),
      label.map((value) => ({ type: 'uri' as const, value: `spiffe://corp/${value}` })),
    );
    fc.assert(
      fc.property(fc.array(id, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.uint8Array({ minLength: 20, maxLength: 20 }), (sans, subjectIsEmpty, ski) => {
        const skiHex = Buffer.from(ski).toString('hex');
        const exts = builder.build({ profile: LEAF_PROFILES.default!, sans, subjectKeyId: skiHex, isRsa: false, crlShard: 0, subjectIsEmpty });
        const hex = (e: object) => Buffer.from(AsnConvert.serialize(e)).toString('hex');
        const san = new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ type: s.type === 'uri' ? ('url' as const) : s.type, value: s.value })), subjectIsEmpty);
        expect(hex(exts.find((e) => e.extnID === '2.5.29.17')!)).toBe(Buffer.from(san.rawData).toString('hex'));
        expect(hex(exts.find((e) => e.extnID === '2.5.29.14')!)).toBe(Buffer.from(new x509.SubjectKeyIdentifierExtension(skiHex).rawData).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });
});
