import { createHash, verify as nodeVerify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { CaError } from '../domain/errors.ts';
import { hashFor, signatureAlgorithmFor } from '../keystore/algorithms.ts';
import type { Signer } from '../keystore/keystore.ts';
import { x509 } from './x509.ts';

/** Everything that goes into a TBSCertificate; built by a profile, checked, then signed once. */
export interface CertificateTemplate {
  serial: string; // lowercase hex, positive
  issuerName: Uint8Array; // DER Name
  subjectName: Uint8Array; // DER Name
  notBefore: Date;
  notAfter: Date;
  publicKeySpki: Uint8Array;
  extensions: x509.Extension[];
}

/** Encodes the TBSCertificate for `tpl` as it will be signed by `signer`. */
export function encodeTbsCertificate(tpl: CertificateTemplate, signer: Pick<Signer, 'alg'>): asn1X509.TBSCertificate {
  return new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: hexToArrayBuffer(tpl.serial),
    signature: new asn1X509.AlgorithmIdentifier(signatureAlgorithmFor(signer.alg)),
    issuer: AsnConvert.parse(tpl.issuerName, asn1X509.Name),
    validity: new asn1X509.Validity({ notBefore: tpl.notBefore, notAfter: tpl.notAfter }),
    subject: AsnConvert.parse(tpl.subjectName, asn1X509.Name),
    subjectPublicKeyInfo: AsnConvert.parse(tpl.publicKeySpki, asn1X509.SubjectPublicKeyInfo),
    extensions: new asn1X509.Extensions(tpl.extensions.map((e) => AsnConvert.parse(e.rawData, asn1X509.Extension))),
  });
}

/**
 * Signs a prepared template exactly once and returns the certificate DER.
 * The signature is checked against the signer's public key before returning,
 * so a misbehaving key store cannot hand out a certificate that does not verify.
 */
export async function signCertificate(tpl: CertificateTemplate, signer: Signer): Promise<Uint8Array> {
  const tbs = encodeTbsCertificate(tpl, signer);
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = await signer.sign(tbsDer);
  if (!verifySignature(signer.alg, signer.publicKeySpki, tbsDer, signature)) {
    throw new CaError('keyStore', `key "${signer.label}" produced a signature that does not verify`);
  }
  const cert = new asn1X509.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: new asn1X509.AlgorithmIdentifier(signatureAlgorithmFor(signer.alg)),
    signatureValue: signature.slice().buffer,
  });
  return new Uint8Array(AsnConvert.serialize(cert));
}

export function verifySignature(alg: Signer['alg'], spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const hash = hashFor(alg).replace('-', '').toLowerCase();
  return nodeVerify(hash, data, { key: Buffer.from(spki), format: 'der', type: 'spki', dsaEncoding: 'der' }, signature);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents, as hex. */
export function keyIdentifier(spki: Uint8Array): string {
  const info = AsnConvert.parse(spki, asn1X509.SubjectPublicKeyInfo);
  return createHash('sha1').update(new Uint8Array(info.subjectPublicKey)).digest('hex');
}

export function hexToArrayBuffer(hex: string): ArrayBuffer {
  return new Uint8Array(Buffer.from(hex, 'hex')).buffer;
}
