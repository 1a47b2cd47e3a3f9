/**
 * The generic CSR parser: @peculiar/x509's decoding and WebCrypto verification, for whatever the
 * strict and asn1-schema parsers do not take (another signature algorithm, input neither decodes).
 * It decodes and checks the key and signature; csr-policy.ts judges the content.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { CaError } from '../domain/errors.ts';
import { checkKeyRules, subjectKeyIdOf } from './csr-key.ts';
import { OID_EXTENSION_REQUEST, type CsrParts, type RequestedExtension } from './csr-types.ts';
import { x509 } from './x509.ts';

export async function readCsrGeneric(input: Uint8Array | string): Promise<CsrParts> {
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

  // x509 reads the requested extensions from the first extensionRequest attribute.
  const extensions = csr.extensions.map(requestedExtension);
  const extensionRequests = csr.getAttributes(OID_EXTENSION_REQUEST).length;
  const commonName = csr.subjectName.getField('CN')[0] ?? null;
  const subjectKeyId = subjectKeyIdOf(new Uint8Array(AsnConvert.parse(publicKeySpki, asn1X509.SubjectPublicKeyInfo).subjectPublicKey));
  return { der: new Uint8Array(csr.rawData), publicKeySpki, keyAlg, commonName, extensionRequests, extensions, subjectKeyId };
}

function requestedExtension(ext: x509.Extension): RequestedExtension {
  const { type: id, critical } = ext;
  if (ext instanceof x509.BasicConstraintsExtension) return { id, critical, kind: 'basicConstraints', ca: ext.ca };
  if (ext instanceof x509.SubjectAlternativeNameExtension) return { id, critical, kind: 'san', names: ext.names.items.map(({ type, value }) => ({ type, value })) };
  if (ext instanceof x509.ExtendedKeyUsageExtension) return { id, critical, kind: 'eku', oids: ext.usages.map(String) };
  return { id, critical, kind: 'other', value: new Uint8Array(ext.value) };
}
