import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaInstance } from '../../src/index.ts';
import { certificateKeyId, keyIdentifier } from '../../src/x509/key-id.ts';
import { serialOfCertificate } from '../../src/x509/serial.ts';
import { x509 } from '../../src/x509/x509.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { hasTool } from '../helpers/tools.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * `pki revoke` reads the issuer's key id and a certificate's serial with Node's own X.509 reader
 * and the strict DER reader instead of @peculiar (#21: that library was a fifth of its start
 * beside a busy server). These hold the light readers to what the library gave.
 */
const reference = (spki: Uint8Array) => createHash('sha1').update(new Uint8Array(AsnConvert.parse(spki, asn1X509.SubjectPublicKeyInfo).subjectPublicKey)).digest('hex');
const spkiOf = (k: ReturnType<typeof generateKeyPairSync>) => new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));

describe('key identifiers and serials without @peculiar/x509', () => {
  let ca: CaInstance;
  beforeAll(async () => {
    ca = await createTestCa();
  });
  afterAll(async () => {
    await ca.close();
  });

  it('ok/keyIdentifier is RFC 5280 §4.2.1.2 method 1, as the ASN.1 library reads it, for EC, RSA and Ed25519 keys', () => {
    const keys = [
      generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
      generateKeyPairSync('rsa', { modulusLength: 4096 }),
      generateKeyPairSync('ed25519'),
    ];
    for (const k of keys) expect(keyIdentifier(spkiOf(k))).toBe(reference(spkiOf(k)));
  });

  it('fail/keyIdentifier refuses what is not exactly one SubjectPublicKeyInfo', () => {
    const spki = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    for (const bad of [new Uint8Array(0), spki.subarray(0, spki.length - 1), new Uint8Array([...spki, 0]), new Uint8Array([0x31, ...spki.subarray(1)]), new Uint8Array([0x30, 0x03, 0x30, 0x01, 0x00])]) {
      expect(() => keyIdentifier(bad)).toThrow(/not a DER SubjectPublicKeyInfo/);
    }
  });

  it("ok/certificateKeyId of the intermediate (PEM and DER) is the authority's issuer key id", () => {
    const issuer = ca.authority.issuer;
    expect(certificateKeyId(issuer.certificate.toString('pem'))).toBe(issuer.keyId);
    expect(certificateKeyId(new Uint8Array(issuer.certificate.rawData))).toBe(issuer.keyId);
  });

  it('ok/serialOfCertificate gives what @peculiar/x509 gave, for PEM, DER and a serial with its top bit set', async () => {
    const leaf = await ca.authority.issue((await makeCsr({ cn: 's.example', sans: [{ type: 'dns', value: 's.example' }] })).pem);
    expect(serialOfCertificate(Buffer.from(leaf.pem))).toBe(leaf.serial);
    expect(serialOfCertificate(new Uint8Array(new x509.X509Certificate(leaf.pem).rawData))).toBe(leaf.serial);
    // skips only locally: hasTool() throws when CI is set
    if (!hasTool('openssl')) return;
    const dir = tempDir();
    for (const [name, serial, expected] of [['high', '0x80aabb', '80aabb'], ['negative', '-5', null]] as const) {
      const pem = join(dir, `${name}.pem`);
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', '/CN=x', '-set_serial', serial, '-days', '1', '-out', pem], { stdio: 'ignore' });
      const data = readFileSync(pem);
      if (expected === null) expect(() => serialOfCertificate(data)).toThrow(/negative serial number -05/);
      else expect([serialOfCertificate(data), new x509.X509Certificate(data.toString('utf8')).serialNumber]).toEqual([expected, expected]);
    }
  });

  it('fail/serialOfCertificate refuses a CSR and garbage', async () => {
    const csr = (await makeCsr({ cn: 'c.example' })).pem;
    expect(() => serialOfCertificate(Buffer.from(csr))).toThrow();
    expect(() => serialOfCertificate(Buffer.from('not a certificate'))).toThrow();
  });
});
