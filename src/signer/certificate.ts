import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { derTlv } from '../domain/der.ts';
import { CaError } from '../domain/errors.ts';
import { hashFor, signatureAlgorithmFor, type KeyAlg } from '../keystore/algorithms.ts';
import type { Signer } from '../keystore/keystore.ts';
import type { x509 } from './x509.ts';

/** Everything that goes into a TBSCertificate; built by a profile, checked, then signed once. */
export interface CertificateTemplate {
  serial: string; // lowercase hex, positive
  /** DER Name, or the decoded Name (an issuer's, decoded once and reused). */
  issuerName: Uint8Array | asn1X509.Name;
  subjectName: Uint8Array | asn1X509.Name;
  notBefore: Date;
  notAfter: Date;
  publicKeySpki: Uint8Array;
  extensions: asn1X509.Extension[];
}

/** @peculiar/x509 extensions as the asn1-x509 objects a template holds (decode once; reuse the result). */
export function asnExtensions(exts: x509.Extension[]): asn1X509.Extension[] {
  return exts.map((e) => AsnConvert.parse(e.rawData, asn1X509.Extension));
}

/** One extension from its already-built value object (SubjectAlternativeName, SubjectKeyIdentifier, …). */
export function asnExtension(extnID: string, critical: boolean, value: object): asn1X509.Extension {
  return new asn1X509.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

const asName = (n: Uint8Array | asn1X509.Name) => (n instanceof Uint8Array ? AsnConvert.parse(n, asn1X509.Name) : n);

/** Encodes the TBSCertificate for `tpl` as it will be signed by `signer`. */
export function encodeTbsCertificate(tpl: CertificateTemplate, signer: Pick<Signer, 'alg'>): asn1X509.TBSCertificate {
  return new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: hexToArrayBuffer(tpl.serial),
    signature: new asn1X509.AlgorithmIdentifier(signatureAlgorithmFor(signer.alg)),
    issuer: asName(tpl.issuerName),
    validity: new asn1X509.Validity({ notBefore: tpl.notBefore, notAfter: tpl.notAfter }),
    subject: asName(tpl.subjectName),
    subjectPublicKeyInfo: AsnConvert.parse(tpl.publicKeySpki, asn1X509.SubjectPublicKeyInfo),
    extensions: new asn1X509.Extensions(tpl.extensions),
  });
}

const algorithmIds = new Map<KeyAlg, Uint8Array>();
/** DER AlgorithmIdentifier of the signatures a key of `alg` makes (encoded once per algorithm). */
export function signatureAlgorithmDer(alg: KeyAlg): Uint8Array {
  let der = algorithmIds.get(alg);
  if (!der) {
    der = new Uint8Array(AsnConvert.serialize(new asn1X509.AlgorithmIdentifier(signatureAlgorithmFor(alg))));
    algorithmIds.set(alg, der);
  }
  return der;
}

/** A signed structure (Certificate, CertificateList, BasicOCSPResponse head): SEQUENCE { tbs, algorithm, BIT STRING signature, …rest }. */
export function signedSequence(tbsDer: Uint8Array, alg: KeyAlg, signature: Uint8Array, ...rest: Uint8Array[]): Uint8Array {
  return derTlv(0x30, tbsDer, signatureAlgorithmDer(alg), derTlv(0x03, Uint8Array.of(0), signature), ...rest);
}

/**
 * Signs a prepared template exactly once and returns the certificate DER.
 * The signature is checked against the signer's public key before returning,
 * so a misbehaving key store cannot hand out a certificate that does not verify.
 * The TBSCertificate is encoded once: the Certificate around it is the signed bytes,
 * the cached AlgorithmIdentifier and the signature, concatenated.
 */
export async function signCertificate(tpl: CertificateTemplate, signer: Signer): Promise<Uint8Array> {
  const tbsDer = new Uint8Array(AsnConvert.serialize(encodeTbsCertificate(tpl, signer)));
  const signature = await signer.sign(tbsDer);
  if (!verifySignature(signer.alg, signer.publicKeySpki, tbsDer, signature)) {
    throw new CaError('keyStore', `key "${signer.label}" produced a signature that does not verify`);
  }
  return signedSequence(tbsDer, signer.alg, signature);
}

/** Public keys by SPKI bytes (a signer's `publicKeySpki` is one array for its lifetime): imported once. */
const publicKeys = new WeakMap<Uint8Array, KeyObject>();

export function verifySignature(alg: Signer['alg'], spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const hash = hashFor(alg).replace('-', '').toLowerCase();
  let key = publicKeys.get(spki);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    publicKeys.set(spki, key);
  }
  return nodeVerify(hash, data, { key, dsaEncoding: 'der' }, signature);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents, as hex. */
export function keyIdentifier(spki: Uint8Array): string {
  const info = AsnConvert.parse(spki, asn1X509.SubjectPublicKeyInfo);
  return createHash('sha1').update(new Uint8Array(info.subjectPublicKey)).digest('hex');
}

export function hexToArrayBuffer(hex: string): ArrayBuffer {
  return new Uint8Array(Buffer.from(hex, 'hex')).buffer;
}
