import { CaError } from '../domain/errors.ts';
import { keyPairTemplates } from './pkcs11-keys.ts';
import { pkcs11js, readUlong, type Handle, type Pkcs11 } from './pkcs11-module.ts';

/**
 * The transparency log's Ed25519 key on a PKCS#11 token (PKCS#11 3.0 §2.3.5, §2.3.14; SoftHSM2
 * implements both): CKM_EC_EDWARDS_KEY_PAIR_GEN with the curve named by its OID in CKA_EC_PARAMS,
 * CKM_EDDSA with no parameters for pure Ed25519 (RFC 8032). pkcs11js does not define these codes.
 */
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
/** id-Ed25519, 1.3.101.112 (RFC 8410), DER. */
const ED25519_OID = Buffer.from('06032b6570', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The CA keys' templates (token objects, sensitive, never extractable, sign-only) with the Edwards key type and curve. */
export function ed25519Templates(label: string, id: Buffer) {
  const t = keyPairTemplates(label, id, 'ecdsa-p256');
  const notEc = (a: { type: number }) => a.type !== pkcs11js.CKA_KEY_TYPE && a.type !== pkcs11js.CKA_EC_PARAMS;
  const keyType = { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS };
  return {
    mechanism: { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
    publicKey: [...t.publicKey.filter(notEc), keyType, { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_OID }],
    privateKey: [...t.privateKey.filter(notEc), keyType],
  };
}

/** The SPKI of an Ed25519 public key object, or null when the object is another key type. */
export function readEd25519Spki(p11: Pkcs11, session: Handle, object: Handle): Uint8Array | null {
  const [type] = p11.C_GetAttributeValue(session, object, [{ type: pkcs11js.CKA_KEY_TYPE }]);
  if (readUlong(type!.value as Buffer) !== CKK_EC_EDWARDS) return null;
  const [point] = p11.C_GetAttributeValue(session, object, [{ type: pkcs11js.CKA_EC_POINT }]);
  const v = point!.value as Buffer;
  // A DER OCTET STRING around the 32 bytes (SoftHSM2), or the bare 32 bytes.
  const raw = v.length === 34 && v[0] === 0x04 && v[1] === 0x20 ? v.subarray(2) : v;
  if (raw.length !== 32) throw new CaError('keyStore', 'PKCS#11 Ed25519 public key is not 32 bytes');
  return new Uint8Array(Buffer.concat([SPKI_PREFIX, raw]));
}

export async function signEd25519(p11: Pkcs11, session: Handle, key: Handle, message: Uint8Array): Promise<Uint8Array> {
  p11.C_SignInit(session, { mechanism: CKM_EDDSA }, key);
  return new Uint8Array(await p11.C_SignAsync(session, Buffer.from(message), Buffer.alloc(64)));
}
