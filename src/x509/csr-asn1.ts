/**
 * The asn1-schema CSR parser: @peculiar/asn1-csr decoding (what @peculiar/x509 uses) and one
 * node:crypto verify, for the ECDSA / RSA PKCS#1 v1.5 requests the strict reader (csr-der.ts)
 * declines. It decodes and checks the key and signature; csr-policy.ts judges the content.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest, type CertificationRequestInfo } from '@peculiar/asn1-csr';
import * as asn1X509 from '@peculiar/asn1-x509';
import { CaError } from '../domain/errors.ts';
import { checkKey, subjectKeyIdOf, verifyCsrSignature } from './csr-key.ts';
import { OID_EXTENSION_REQUEST, type CsrParts, type RequestedExtension, type RequestedName } from './csr-types.ts';

/** ECDSA and RSA PKCS#1 v1.5 signature algorithms this path verifies: OID → [key type, hash]. */
const SIGNATURE_ALGS = new Map<string, ['ec' | 'rsa', string]>([
  ['1.2.840.10045.4.3.2', ['ec', 'sha256']],
  ['1.2.840.10045.4.3.3', ['ec', 'sha384']],
  ['1.2.840.10045.4.3.4', ['ec', 'sha512']],
  ['1.2.840.113549.1.1.11', ['rsa', 'sha256']],
  ['1.2.840.113549.1.1.12', ['rsa', 'sha384']],
  ['1.2.840.113549.1.1.13', ['rsa', 'sha512']],
]);
const OID_CN = '2.5.4.3';

/** The request read and verified; null when this path does not apply (the generic path then decides). */
export function readCsrAsn1(der: Uint8Array): CsrParts | null {
  // @peculiar/x509 reads anything not starting with a SEQUENCE tag as text (PEM, hex, base64);
  // asn1-schema does not check the outer tag at all.
  if (der[0] !== 0x30) return null;
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch {
    return null;
  }
  const sigAlg = SIGNATURE_ALGS.get(csr.signatureAlgorithm.algorithm);
  if (!sigAlg || !csr.certificationRequestInfoRaw) return null;
  const info = csr.certificationRequestInfo;
  let publicKeySpki: Uint8Array;
  try {
    publicKeySpki = new Uint8Array(AsnConvert.serialize(info.subjectPKInfo));
  } catch {
    return null;
  }
  const { alg: keyAlg, key } = checkKey(publicKeySpki);
  verifyCsrSignature(key, sigAlg[0], sigAlg[1], new Uint8Array(csr.certificationRequestInfoRaw), new Uint8Array(csr.signature));

  const extensionRequests = info.attributes.filter((a) => a.type === OID_EXTENSION_REQUEST);
  const extensions = requestedExtensions(extensionRequests[0]?.values[0]);
  const commonName = commonNameOf(info.subject);
  const subjectKeyId = subjectKeyIdOf(new Uint8Array(info.subjectPKInfo.subjectPublicKey));
  return { der: new Uint8Array(der), publicKeySpki, keyAlg, commonName, extensionRequests: extensionRequests.length, extensions, subjectKeyId };
}

/** The Extensions of an extensionRequest value, each decoded as far as the policy reads it. */
function requestedExtensions(value: ArrayBuffer | undefined): RequestedExtension[] {
  if (!value) return [];
  let exts: asn1X509.Extensions;
  try {
    exts = AsnConvert.parse(value, asn1X509.Extensions);
  } catch (e) {
    throw new CaError('badCsr', 'the CSR extensionRequest cannot be decoded', { cause: e });
  }
  return exts.map((ext) => {
    try {
      return requestedExtension(ext);
    } catch (e) {
      throw new CaError('badCsr', `the CSR's requested extension ${ext.extnID} cannot be decoded`, { cause: e });
    }
  });
}

function requestedExtension(ext: asn1X509.Extension): RequestedExtension {
  const { extnID: id, critical } = ext;
  const value = ext.extnValue.buffer;
  if (id === asn1X509.id_ce_basicConstraints) return { id, critical, kind: 'basicConstraints', ca: AsnConvert.parse(value, asn1X509.BasicConstraints).cA };
  if (id === asn1X509.id_ce_subjectAltName) return { id, critical, kind: 'san', names: AsnConvert.parse(value, asn1X509.SubjectAlternativeName).map(requestedName) };
  if (id === asn1X509.id_ce_extKeyUsage) return { id, critical, kind: 'eku', oids: AsnConvert.parse(value, asn1X509.ExtendedKeyUsage).map(String) };
  return { id, critical, kind: 'other', value: new Uint8Array(value) };
}

/** GeneralName → name, typed as the generic path's x509.GeneralName types are. */
function requestedName(n: asn1X509.GeneralName): RequestedName {
  if (n.dNSName !== undefined) return { type: 'dns', value: n.dNSName };
  if (n.iPAddress !== undefined) return { type: 'ip', value: n.iPAddress };
  if (n.uniformResourceIdentifier !== undefined) return { type: 'url', value: n.uniformResourceIdentifier };
  if (n.rfc822Name !== undefined) return { type: 'email', value: n.rfc822Name };
  // The policy refuses the other types by type alone.
  const type = n.directoryName !== undefined ? 'dn' : n.registeredID !== undefined ? 'id' : 'other';
  return { type, value: '' };
}

/** The first CN of the subject, or null. */
function commonNameOf(subject: CertificationRequestInfo['subject']): string | null {
  for (const rdn of subject) {
    for (const atv of rdn) {
      if (atv.type === OID_CN) return atv.value.toString();
    }
  }
  return null;
}
