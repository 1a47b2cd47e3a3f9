import { describe, expect, it } from 'vitest';
import { certificatesOfPkcs7, certsOnlyPkcs7 } from '../../src/x509/pkcs7.ts';
import { certsOnlyPkcs7Reference } from './reference-pkcs7.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';

/** The certs-only PKCS#7 EST returns (RFC 7030 §4.1.3, §4.2.3): written directly, held byte for byte to pkijs's encoding. */
describe('certs-only PKCS#7', () => {
  it('ok/equals the pkijs encoding byte for byte for 1-3 certificates, and reads back the same certificates', async () => {
    const ca = await createTestCa();
    try {
      const leaves = await Promise.all([1, 2].map(async (i) => (await ca.authority.issue((await makeCsr({ cn: `p${i}.test`, sans: [{ type: 'dns', value: `p${i}.test` }] })).pem)).der));
      const sets = [[leaves[0]!], [new Uint8Array(ca.intermediate.rawData), new Uint8Array(ca.root.rawData)], [leaves[0]!, leaves[1]!, new Uint8Array(ca.root.rawData)]];
      for (const certs of sets) {
        const der = certsOnlyPkcs7(certs);
        expect(Buffer.from(der).toString('hex')).toBe(Buffer.from(certsOnlyPkcs7Reference(certs)).toString('hex'));
        expect(certificatesOfPkcs7(der).map((c) => Buffer.from(c).toString('hex'))).toEqual(certs.map((c) => Buffer.from(c).toString('hex')));
      }
    } finally {
      await ca.close();
    }
  });

  it('bad/anything but a SignedData is refused as malformed', () => {
    expect(() => certificatesOfPkcs7(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01))).toThrow(/not a PKCS#7 certs-only message/);
    expect(() => certificatesOfPkcs7(Uint8Array.of(1, 2, 3))).toThrow(/not a PKCS#7/);
  });
});
