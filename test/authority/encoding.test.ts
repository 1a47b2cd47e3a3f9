import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEAF_PROFILES, LeafExtensionBuilder, ipOctets, issuerUrls } from '../../src/authority/profiles.ts';
import { x509 } from '../../src/x509/x509.ts';

/** The per-leaf extensions built directly as DER encode byte for byte as @peculiar/x509's classes would. */
const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,12}$/);
const dns = fc.tuple(fc.option(fc.constant('*')), fc.array(label, { minLength: 1, maxLength: 4 })).map(([w, l]) => [...(w ? [w] : []), ...l].join('.'));
const ip = fc.oneof(fc.ipV4(), fc.ipV6().filter((v) => !v.includes('.'))); // mixed IPv6 notation: refused by asn1-x509's converter either way
const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');

describe('leaf encoding matches @peculiar/x509', () => {
  it('SAN and SKI extensions', () => {
    const builder = new LeafExtensionBuilder({ authorityKeyId: 'ab'.repeat(20), urls: issuerUrls('http://ca.test', 'ab') });
    const id = fc.oneof(
      dns.map((value) => ({ type: 'dns' as const, value: value.toLowerCase() })),
      ip.map((value) => ({ type: 'ip' as const, value })),
      label.map((value) => ({ type: 'uri' as const, value: `spiffe://corp/${value}` })),
    );
    fc.assert(
      fc.property(fc.array(id, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.uint8Array({ minLength: 20, maxLength: 20 }), (sans, subjectIsEmpty, ski) => {
        const skiHex = hex(ski);
        const exts = builder.build({ profile: LEAF_PROFILES.default!, sans, subjectKeyId: skiHex, isRsa: false, crlShard: 0, subjectIsEmpty });
        const san = new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ type: s.type === 'uri' ? ('url' as const) : s.type, value: s.value })), subjectIsEmpty);
        expect(hex(exts.find((e) => e.extnID === '2.5.29.17')!.der)).toBe(hex(san.rawData));
        expect(hex(exts.find((e) => e.extnID === '2.5.29.14')!.der)).toBe(hex(new x509.SubjectKeyIdentifierExtension(skiHex).rawData));
      }),
      { numRuns: 300 },
    );
  });

  it('IPv6 with an embedded IPv4 address (which asn1-x509 cannot encode) gets the right octets', () => {
    expect(hex(ipOctets('::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201');
    expect(hex(ipOctets('64:ff9b::10.0.0.1'))).toBe('0064ff9b00000000000000000a000001');
    expect(hex(ipOctets('2001:db8::1'))).toBe('20010db8000000000000000000000001');
    expect(hex(ipOctets('::'))).toBe('0'.repeat(32));
  });
});
