import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ECParameters, id_secp256r1, id_secp384r1 } from '@peculiar/asn1-ecc';
import { CaError } from '../domain/errors.ts';
import { x509 } from '../x509/x509.ts';
import { hashFor, keyAlgOf, nodeKeyGenParams, type KeyAlg } from '../domain/algorithms.ts';
import { pkcs11js, readUlong, type Handle, type Pkcs11 } from './pkcs11-module.ts';

/** Curves we generate, by WebCrypto name, with their OID and coordinate size. */
const CURVES = {
  'P-256': { oid: id_secp256r1, size: 32 },
  'P-384': { oid: id_secp384r1, size: 48 },
} as const;
type CurveName = keyof typeof CURVES;

function curveOf(alg: KeyAlg): CurveName | null {
  const params = nodeKeyGenParams(alg);
  return params.type === 'ec' ? (params.namedCurve as CurveName) : null;
}

/**
 * C_GenerateKeyPair arguments: both halves are token objects found again by CKA_LABEL;
 * the private half is private, sensitive and never extractable, so the token never lets it out.
 */
export function keyPairTemplates(label: string, id: Buffer, alg: KeyAlg) {
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
  ];
  const curve = curveOf(alg);
  // Signing only: no decrypt, unwrap or derive on a CA key (tokens may default them to true).
  const publicKey = [
    ...common,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_VERIFY, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
  const privateKey = [
    ...common,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
  if (curve) {
    const ecParams = Buffer.from(AsnConvert.serialize(new ECParameters({ namedCurve: CURVES[curve].oid })));
    publicKey.push({ type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC }, { type: pkcs11js.CKA_EC_PARAMS, value: ecParams });
    privateKey.push({ type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC });
    return { mechanism: { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN }, publicKey, privateKey };
  }
  const bits = (nodeKeyGenParams(alg) as { modulusLength: number }).modulusLength;
  publicKey.push(
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
    { type: pkcs11js.CKA_MODULUS_BITS, value: bits },
    { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
  );
  privateKey.push({ type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA });
  return { mechanism: { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN }, publicKey, privateKey };
}

/** The token objects of `cls` labelled `label` (normally zero or one). */
export function findObjects(p11: Pkcs11, session: Handle, label: string, cls: number): Handle[] {
  p11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: cls },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  try {
    return p11.C_FindObjects(session, 8);
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

/** The labels of all private keys on the token. */
export function listPrivateKeyLabels(p11: Pkcs11, session: Handle): string[] {
  p11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]);
  let handles: Handle[];
  try {
    handles = p11.C_FindObjects(session, 1024);
  } finally {
    p11.C_FindObjectsFinal(session);
  }
  const labels = handles.map((h) => p11.C_GetAttributeValue(session, h, [{ type: pkcs11js.CKA_LABEL }])[0]?.value?.toString('utf8') ?? '');
  return [...new Set(labels.filter(Boolean))].sort();
}

function attribute(p11: Pkcs11, session: Handle, object: Handle, type: number): Buffer {
  const value = p11.C_GetAttributeValue(session, object, [{ type }])[0]?.value;
  if (!value) throw new CaError('keyStore', `PKCS#11 object has no attribute 0x${type.toString(16)}`);
  return value;
}

/**
 * The SubjectPublicKeyInfo of a public key object. The token gives the raw parts
 * (EC point and curve, or modulus and exponent); Node assembles the DER from a JWK.
 */
export function readPublicKey(p11: Pkcs11, session: Handle, object: Handle): { spki: Uint8Array; alg: KeyAlg } {
  const keyType = readUlong(attribute(p11, session, object, pkcs11js.CKA_KEY_TYPE));
  let jwk: JsonWebKey;
  if (keyType === pkcs11js.CKK_EC) {
    const oid = AsnConvert.parse(attribute(p11, session, object, pkcs11js.CKA_EC_PARAMS), ECParameters).namedCurve;
    const entry = Object.entries(CURVES).find(([, c]) => c.oid === oid);
    if (!entry) throw new CaError('keyStore', `PKCS#11 key uses an unsupported curve ${oid}`);
    const [crv, { size }] = entry;
    const point = ecPoint(attribute(p11, session, object, pkcs11js.CKA_EC_POINT), size);
    jwk = { kty: 'EC', crv, x: b64url(point.subarray(1, 1 + size)), y: b64url(point.subarray(1 + size)) };
  } else if (keyType === pkcs11js.CKK_RSA) {
    jwk = {
      kty: 'RSA',
      n: b64url(stripZeros(attribute(p11, session, object, pkcs11js.CKA_MODULUS))),
      e: b64url(stripZeros(attribute(p11, session, object, pkcs11js.CKA_PUBLIC_EXPONENT))),
    };
  } else {
    throw new CaError('keyStore', `PKCS#11 key has unsupported key type ${keyType}`);
  }
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const alg = keyAlgOf({ type: key.asymmetricKeyType, ...key.asymmetricKeyDetails });
  if (!alg) throw new CaError('keyStore', 'PKCS#11 key uses an unsupported algorithm');
  return { spki: new Uint8Array(key.export({ type: 'spki', format: 'der' })), alg };
}

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (some modules omit the wrapper). */
function ecPoint(value: Buffer, size: number): Buffer {
  const rawLength = 1 + 2 * size;
  const point = value.length === rawLength ? value : Buffer.from(AsnConvert.parse(value, OctetString).buffer);
  if (point.length !== rawLength || point[0] !== 0x04) throw new CaError('keyStore', 'PKCS#11 EC public key is not an uncompressed point');
  return point;
}

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

const ecFormatter = new x509.AsnEcSignatureFormatter();

/**
 * Signs `tbs` on the token and returns the signature as X.509 carries it.
 * ECDSA: the digest is computed here and signed with plain CKM_ECDSA (every token has it,
 * unlike the hash-and-sign variants); the raw r||s is re-encoded as a DER ECDSA-Sig-Value by
 * @peculiar/x509. RSA: CKM_SHA256_RSA_PKCS already yields the PKCS#1 v1.5 signature.
 */
export async function signOnToken(p11: Pkcs11, session: Handle, key: Handle, alg: KeyAlg, tbs: Uint8Array): Promise<Uint8Array> {
  const curve = curveOf(alg);
  if (curve) {
    const digest = createHash(hashFor(alg).replace('-', '').toLowerCase()).update(tbs).digest();
    p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key);
    const raw = await p11.C_SignAsync(session, digest, Buffer.alloc(2 * CURVES[curve].size));
    const der = ecFormatter.toAsnSignature({ name: 'ECDSA', namedCurve: curve } as EcKeyAlgorithm, new Uint8Array(raw));
    if (!der) throw new CaError('keyStore', 'cannot encode the ECDSA signature');
    return new Uint8Array(der);
  }
  const bits = (nodeKeyGenParams(alg) as { modulusLength: number }).modulusLength;
  p11.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
  return new Uint8Array(await p11.C_SignAsync(session, Buffer.from(tbs), Buffer.alloc(bits / 8)));
}
