import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import * as asn1X509 from '@peculiar/asn1-x509';
import { CaError } from '../domain/errors.ts';
import type { Identifier } from '../domain/types.ts';
import type { KeyAlg } from '../domain/algorithms.ts';
import { ipText, readCsrStrict, type StrictCsr } from './csr-der.ts';
import { checkKey, checkKeyRules, importStrictKey, verifyCsrSignature } from './csr-key.ts';
import { normalizeIdentifier } from '../domain/identifiers.ts';
import { x509 } from './x509.ts';

/** What the authority needs from a verified PKCS#10 request. */
export interface CsrInfo {
  der: Uint8Array;
  publicKeySpki: Uint8Array;
  keyAlg: KeyAlg;
  commonName: string | null;
  /** SANs requested in the extensionRequest, normalised. */
  sans: Identifier[];
  /** EKU OIDs the CSR asks for, if any (the profile decides; asking for more is refused). */
  requestedEku: string[];
  /** RFC 5280 §4.2.1.2 method 1 key identifier of the public key, hex (the leaf's SKI). */
  subjectKeyId: string;
}

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
/** Requested extensions we understand; anything else marked critical is refused. */
const KNOWN_EXTENSIONS = new Set(['2.5.29.17', '2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14']);

/**
 * Parses and checks a PKCS#10 request (PEM or DER): the signature must verify
 * with the enclosed key, the key must pass the key rules, and it must not ask
 * to be a CA. Every refusal is a CaError('badCsr' | 'badKey') with a reason.
 *
 * The usual request (DER or a CERTIFICATE REQUEST PEM, signed with ECDSA or RSA PKCS#1 v1.5
 * over SHA-2) takes the fast path: a strict DER reader (csr-der.ts) and the key imported from
 * JWK, one synchronous node:crypto verify. What the reader declines goes through the same
 * @peculiar/asn1-csr decoding @peculiar/x509 does, with the same verify; anything else (another
 * signature algorithm, input neither can decode) through the generic @peculiar/x509 + WebCrypto
 * path, which gives the verdict.
 */
export async function parseCsr(input: Uint8Array | string): Promise<CsrInfo> {
  const fast = parseCsrFast(input);
  return fast ?? parseCsrGeneric(input);
}

/** ECDSA and RSA PKCS#1 v1.5 signature algorithms the fast path verifies: OID → [key type, hash]. */
const FAST_SIGNATURE_ALGS = new Map<string, ['ec' | 'rsa', string]>([
  ['1.2.840.10045.4.3.2', ['ec', 'sha256']],
  ['1.2.840.10045.4.3.3', ['ec', 'sha384']],
  ['1.2.840.10045.4.3.4', ['ec', 'sha512']],
  ['1.2.840.113549.1.1.11', ['rsa', 'sha256']],
  ['1.2.840.113549.1.1.12', ['rsa', 'sha384']],
  ['1.2.840.113549.1.1.13', ['rsa', 'sha512']],
]);
const OID_CN = '2.5.4.3';
const PEM_CSR = /^\s*-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]*)-----END (?:NEW )?CERTIFICATE REQUEST-----\s*$/;

/**
 * The fast path; null when it does not apply (the generic path then decides, including every
 * refusal of input that does not decode). Throws the same CaErrors as the generic path otherwise.
 */
export function parseCsrFast(input: Uint8Array | string): CsrInfo | null {
  const der = csrDer(input);
  if (!der) return null;
  const strict = readCsrStrict(der);
  return strict ? csrInfoFromStrict(der, strict) : parseCsrAsn1(der);
}

/** DER from a DER input or a CERTIFICATE REQUEST PEM; null for any other text. */
function csrDer(input: Uint8Array | string): Uint8Array | null {
  if (typeof input !== 'string') return input;
  const m = PEM_CSR.exec(input);
  return m ? new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')) : null;
}

/** The strictly read request: the key rules, one verify, then the requested extensions in order, as the asn1 path does. */
function csrInfoFromStrict(der: Uint8Array, s: StrictCsr): CsrInfo {
  const { alg: keyAlg, key } = importStrictKey(s.key, s.spki);
  if (s.key.type !== s.signatureKeyType) throw new CaError('badCsr', 'the CSR signature cannot be checked: its algorithm does not match its key');
  verifyCsrSignature(s.signatureHash, s.info, key, s.signature);
  const sans: Identifier[] = [];
  let requestedEku: string[] = [];
  for (const ext of s.extensions) {
    if (ext.kind === 'basicConstraints') {
      if (ext.ca) throw new CaError('badCsr', 'the CSR asks for CA:true; this CA issues end-entity certificates only');
    } else if (ext.kind === 'san') {
      for (const n of ext.names) sans.push(sanToIdentifier(n.type, n.type === 'ip' ? ipText(n.octets) : n.value));
    } else if (ext.kind === 'eku') {
      requestedEku = ext.oids;
    } else if (!KNOWN_EXTENSIONS.has(ext.id) && ext.critical) {
      throw new CaError('badCsr', `the CSR asks for unsupported critical extension ${ext.id}`);
    }
  }
  const subjectKeyId = createHash('sha1').update(s.subjectPublicKey).digest('hex');
  return { der: new Uint8Array(der), publicKeySpki: s.spki, keyAlg, commonName: s.commonName, sans, requestedEku, subjectKeyId };
}

/** The asn1-schema path: @peculiar/asn1-csr decoding (what @peculiar/x509 uses) for what the strict reader declines. */
export function parseCsrAsn1(der: Uint8Array): CsrInfo | null {
  // @peculiar/x509 reads anything not starting with a SEQUENCE tag as text (PEM, hex, base64);
  // asn1-schema does not check the outer tag at all.
  if (der[0] !== 0x30) return null;
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch {
    return null;
  }
  const sigAlg = FAST_SIGNATURE_ALGS.get(csr.signatureAlgorithm.algorithm);
  if (!sigAlg || !csr.certificationRequestInfoRaw) return null;
  const info = csr.certificationRequestInfo;
  let publicKeySpki: Uint8Array;
  try {
    publicKeySpki = new Uint8Array(AsnConvert.serialize(info.subjectPKInfo));
  } catch {
    return null;
  }
  const { alg: keyAlg, key } = checkKey(publicKeySpki);
  if (key.asymmetricKeyType !== sigAlg[0]) throw new CaError('badCsr', 'the CSR signature cannot be checked: its algorithm does not match its key');
  verifyCsrSignature(sigAlg[1], new Uint8Array(csr.certificationRequestInfoRaw), key, new Uint8Array(csr.signature));

  const extensionRequests = info.attributes.filter((a) => a.type === OID_EXTENSION_REQUEST);
  if (extensionRequests.length > 1) throw new CaError('badCsr', 'the CSR carries more than one extensionRequest attribute');
  const sans: Identifier[] = [];
  let requestedEku: string[] = [];
  const requested = extensionRequests[0]?.values[0];
  if (requested) {
    let exts: asn1X509.Extensions;
    try {
      exts = AsnConvert.parse(requested, asn1X509.Extensions);
    } catch (e) {
      throw new CaError('badCsr', 'the CSR extensionRequest cannot be decoded', { cause: e });
    }
    for (const ext of exts) {
      const value = ext.extnValue.buffer;
      try {
        if (ext.extnID === asn1X509.id_ce_basicConstraints) {
          if (AsnConvert.parse(value, asn1X509.BasicConstraints).cA) {
            throw new CaError('badCsr', 'the CSR asks for CA:true; this CA issues end-entity certificates only');
          }
        } else if (ext.extnID === asn1X509.id_ce_subjectAltName) {
          for (const name of AsnConvert.parse(value, asn1X509.SubjectAlternativeName)) sans.push(generalNameToIdentifier(name));
        } else if (ext.extnID === asn1X509.id_ce_extKeyUsage) {
          requestedEku = AsnConvert.parse(value, asn1X509.ExtendedKeyUsage).map(String);
        } else if (!KNOWN_EXTENSIONS.has(ext.extnID) && ext.critical) {
          throw new CaError('badCsr', `the CSR asks for unsupported critical extension ${ext.extnID}`);
        }
      } catch (e) {
        if (e instanceof CaError) throw e;
        throw new CaError('badCsr', `the CSR's requested extension ${ext.extnID} cannot be decoded`, { cause: e });
      }
    }
  }
  let commonName: string | null = null;
  for (const rdn of info.subject) {
    for (const atv of rdn) {
      if (commonName === null && atv.type === OID_CN) commonName = atv.value.toString();
    }
  }
  const subjectKeyId = createHash('sha1').update(new Uint8Array(info.subjectPKInfo.subjectPublicKey)).digest('hex');
  return { der: new Uint8Array(der), publicKeySpki, keyAlg, commonName, sans, requestedEku, subjectKeyId };
}

/** GeneralName → identifier, as the generic path's x509.GeneralName types map. */
function generalNameToIdentifier(n: asn1X509.GeneralName): Identifier {
  if (n.dNSName !== undefined) return sanToIdentifier('dns', n.dNSName);
  if (n.iPAddress !== undefined) return sanToIdentifier('ip', n.iPAddress);
  if (n.uniformResourceIdentifier !== undefined) return sanToIdentifier('url', n.uniformResourceIdentifier);
  const type = n.rfc822Name !== undefined ? 'email' : n.directoryName !== undefined ? 'dn' : n.registeredID !== undefined ? 'id' : 'other';
  return sanToIdentifier(type, '');
}

/** The generic path: @peculiar/x509's decoding and WebCrypto verification. */
export async function parseCsrGeneric(input: Uint8Array | string): Promise<CsrInfo> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(typeof input === 'string' ? input : (input as Uint8Array<ArrayBuffer>));
  } catch (e) {
    throw new CaError('badCsr', 'the CSR is not a valid PKCS#10 request', { cause: e });
  }
  const publicKeySpki = new Uint8Array(csr.publicKey.rawData);
  const keyAlg = checkKeyRules(publicKeySpki);

  let verified = false;
  try {
    verified = await csr.verify();
  } catch (e) {
    throw new CaError('badCsr', 'the CSR signature cannot be checked', { cause: e });
  }
  if (!verified) throw new CaError('badCsr', 'the CSR signature does not verify with its public key');

  const sans: Identifier[] = [];
  let requestedEku: string[] = [];
  for (const ext of csr.extensions) {
    if (ext instanceof x509.BasicConstraintsExtension) {
      if (ext.ca) throw new CaError('badCsr', 'the CSR asks for CA:true; this CA issues end-entity certificates only');
    } else if (ext instanceof x509.SubjectAlternativeNameExtension) {
      for (const name of ext.names.items) sans.push(sanToIdentifier(name.type, name.value));
    } else if (ext instanceof x509.ExtendedKeyUsageExtension) {
      requestedEku = ext.usages.map(String);
    } else if (!KNOWN_EXTENSIONS.has(ext.type) && ext.critical) {
      throw new CaError('badCsr', `the CSR asks for unsupported critical extension ${ext.type}`);
    }
  }
  if (csr.attributes.some((a) => a.type === OID_EXTENSION_REQUEST) && csr.getAttributes(OID_EXTENSION_REQUEST).length > 1) {
    throw new CaError('badCsr', 'the CSR carries more than one extensionRequest attribute');
  }
  const commonName = csr.subjectName.getField('CN')[0] ?? null;
  const subjectKeyId = createHash('sha1').update(new Uint8Array(AsnConvert.parse(publicKeySpki, asn1X509.SubjectPublicKeyInfo).subjectPublicKey)).digest('hex');
  return { der: new Uint8Array(csr.rawData), publicKeySpki, keyAlg, commonName, sans, requestedEku, subjectKeyId };
}

function sanToIdentifier(type: string, value: string): Identifier {
  if (type === 'dns') return normalizeIdentifier({ type: 'dns', value });
  if (type === 'ip') return normalizeIdentifier({ type: 'ip', value });
  if (type === 'url') return normalizeIdentifier({ type: 'uri', value });
  throw new CaError('badCsr', `the CSR asks for a ${type} subject alternative name; only DNS, IP and URI names are issued`);
}
