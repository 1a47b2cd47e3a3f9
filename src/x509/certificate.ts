import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { derOid, derTime, derTlv, serialContents } from '../domain/der.ts';
import { CaError } from '../domain/errors.ts';
import { hashFor, signatureAlgorithmFor, type KeyAlg } from '../domain/algorithms.ts';
import type { Signer } from '../domain/signer.ts';
import type { x509 } from './x509.ts';

/**
 * One extension already encoded: `der` is the whole Extension SEQUENCE. Leaves use these, so the
 * parts that depend only on the issuer and profile are encoded once and copied per certificate.
 */
export interface EncodedExtension {
  extnID: string;
  critical: boolean;
  der: Uint8Array;
}

/** Everything that goes into a TBSCertificate; built by a profile, checked, then signed once. */
export interface CertificateTemplate {
  serial: string; // lowercase hex, positive
  /** DER Name (copied as is), or a decoded Name (encoded when signing). */
  issuerName: Uint8Array | asn1X509.Name;
  subjectName: Uint8Array | asn1X509.Name;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo, copied as is: callers pass DER (a CSR's, re-encoded or strictly read). */
  publicKeySpki: Uint8Array;
  /** Encoded extensions, or asn1-x509 objects (CA and responder certificates) encoded when signing. */
  extensions: (EncodedExtension | asn1X509.Extension)[];
}

/** @peculiar/x509 extensions as the asn1-x509 objects a template holds (decode once; reuse the result). */
export function asnExtensions(exts: x509.Extension[]): asn1X509.Extension[] {
  return exts.map((e) => AsnConvert.parse(e.rawData, asn1X509.Extension));
}

/** One extension from its already-built value object (SubjectAlternativeName, SubjectKeyIdentifier, …). */
export function asnExtension(extnID: string, critical: boolean, value: object): asn1X509.Extension {
  return new asn1X509.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** @peculiar/x509 extensions as encoded extensions (their rawData is the Extension DER). */
export function encodedExtensions(exts: x509.Extension[]): EncodedExtension[] {
  return exts.map((e) => ({ extnID: e.type, critical: e.critical, der: new Uint8Array(e.rawData) }));
}

const DER_TRUE = Uint8Array.of(0x01, 0x01, 0xff);
/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (omitted when false in DER), extnValue OCTET STRING }. */
export function encodedExtension(extnID: string, critical: boolean, value: Uint8Array, oidDer: Uint8Array = derOid(extnID)): EncodedExtension {
  const der = critical ? derTlv(0x30, oidDer, DER_TRUE, derTlv(0x04, value)) : derTlv(0x30, oidDer, derTlv(0x04, value));
  return { extnID, critical, der };
}

const extensionBytes = (e: EncodedExtension | asn1X509.Extension) => ('der' in e ? e.der : new Uint8Array(AsnConvert.serialize(e)));
const nameBytes = (n: Uint8Array | asn1X509.Name) => (n instanceof Uint8Array ? n : new Uint8Array(AsnConvert.serialize(n)));
const VERSION_V3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02); // [0] EXPLICIT INTEGER 2
const epochSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * The TBSCertificate DER for `tpl` as a key of `alg` signs it, by concatenating encoded parts
 * (the asn1-schema encoder cost ~16% of an issuance; test/signer/tbs.test.ts proves the bytes
 * equal its output). Times are UTCTime before 2050 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
 */
export function tbsCertificateDer(tpl: CertificateTemplate, alg: KeyAlg): Uint8Array {
  const validity = derTlv(0x30, derTime(epochSeconds(tpl.notBefore)), derTime(epochSeconds(tpl.notAfter)));
  const parts = [VERSION_V3, derTlv(0x02, serialContents(tpl.serial)), signatureAlgorithmDer(alg), nameBytes(tpl.issuerName), validity, nameBytes(tpl.subjectName), tpl.publicKeySpki];
  // RFC 5280: extensions, when present, hold at least one.
  if (tpl.extensions.length) parts.push(derTlv(0xa3, derTlv(0x30, ...tpl.extensions.map(extensionBytes))));
  return derTlv(0x30, ...parts);
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
 * Signs a prepared template exactly once and returns the certificate DER (see signOnce).
 */
export async function signCertificate(tpl: CertificateTemplate, signer: Signer): Promise<Uint8Array> {
  return signOnce(tbsCertificateDer(tpl, signer.alg), signer, 'certificate');
}

/**
 * Signs to-be-signed bytes (TBSCertificate, TBSCertList) exactly once and returns the signed
 * structure: the TBS, the cached AlgorithmIdentifier and the signature, concatenated. The
 * signature is checked against the signer's public key first, so a misbehaving key store
 * cannot hand out anything that does not verify.
 */
export async function signOnce(tbsDer: Uint8Array, signer: Signer, what: 'certificate' | 'CRL'): Promise<Uint8Array> {
  const signature = await signer.sign(tbsDer);
  if (!verifySignature(signer.alg, signer.publicKeySpki, tbsDer, signature)) {
    throw new CaError('keyStore', `key "${signer.label}" produced a ${what} signature that does not verify`);
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

// RFC 5280 §4.2.1.2 method 1, in key-id.ts: it loads no ASN.1 library, for `pki revoke` (#21).
export { keyIdentifier } from './key-id.ts';
