import { createPublicKey } from 'node:crypto';
import { CaError } from '../domain/errors.ts';
import type { Identifier } from '../domain/types.ts';
import { keyAlgOf, type KeyAlg } from '../keystore/algorithms.ts';
import { normalizeIdentifier } from './identifiers.ts';
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
}

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
/** Requested extensions we understand; anything else marked critical is refused. */
const KNOWN_EXTENSIONS = new Set(['2.5.29.17', '2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14']);

/**
 * Parses and checks a PKCS#10 request (PEM or DER): the signature must verify
 * with the enclosed key, the key must pass the key rules, and it must not ask
 * to be a CA. Every refusal is a CaError('badCsr' | 'badKey') with a reason.
 */
export async function parseCsr(input: Uint8Array | string): Promise<CsrInfo> {
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
  return { der: new Uint8Array(csr.rawData), publicKeySpki, keyAlg, commonName, sans, requestedEku };
}

function sanToIdentifier(type: string, value: string): Identifier {
  if (type === 'dns') return normalizeIdentifier({ type: 'dns', value });
  if (type === 'ip') return normalizeIdentifier({ type: 'ip', value });
  if (type === 'url') return normalizeIdentifier({ type: 'uri', value });
  throw new CaError('badCsr', `the CSR asks for a ${type} subject alternative name; only DNS, IP and URI names are issued`);
}

/**
 * Key rules for subject keys: RSA 2048-4096 bits with e = 65537, or ECDSA on P-256/P-384.
 * Returns the key's algorithm; throws CaError('badKey') otherwise.
 */
export function checkKeyRules(spki: Uint8Array): KeyAlg {
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new CaError('badKey', 'the public key cannot be parsed', { cause: e });
  }
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits < 2048) throw new CaError('badKey', `RSA key of ${bits} bits is too weak: at least 2048 bits are required`);
    if (d.publicExponent !== 65537n) throw new CaError('badKey', `RSA public exponent ${d.publicExponent} is refused: it must be 65537`);
  }
  const alg = keyAlgOf({ type: key.asymmetricKeyType, ...d });
  if (!alg) {
    const what = key.asymmetricKeyType === 'ec' ? `curve ${d.namedCurve}` : key.asymmetricKeyType === 'rsa' ? `RSA-${d.modulusLength}` : `${key.asymmetricKeyType} keys`;
    throw new CaError('badKey', `${what} is not accepted: use ECDSA P-256/P-384 or RSA 2048/3072/4096`);
  }
  return alg;
}
