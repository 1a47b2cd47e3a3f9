import { calculateJwkThumbprint, flattenedVerify, type JWK } from 'jose';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { badPublicKey, badSignatureAlgorithm, malformed, unauthorized } from './problems.ts';

/** RFC 8555 §6.2: asymmetric algorithms only; never `none`, never MAC (except inside EAB, §7.3.4). */
export const JWS_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'EdDSA'] as const;
/** MAC algorithms an external account binding may use. */
export const EAB_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

export interface ProtectedHeader {
  alg: string;
  nonce?: string;
  url: string;
  jwk?: JWK;
  kid?: string;
  [k: string]: unknown;
}

/** Parses the flattened JSON serialization (§6.2: the only one accepted) and its protected header. */
export function parseFlattenedJws(body: unknown, what = 'request body'): { jws: FlattenedJws; header: ProtectedHeader } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed(`the ${what} is not a JWS in flattened JSON serialization`);
  const o = body as Record<string, unknown>;
  if ('signatures' in o) throw malformed(`the ${what} uses the general JWS serialization; only flattened is accepted`);
  if ('header' in o) throw malformed(`the ${what} has an unprotected header; every header must be protected`);
  for (const k of ['protected', 'payload', 'signature'] as const) {
    if (typeof o[k] !== 'string' || !/^[A-Za-z0-9_-]*$/.test(o[k])) throw malformed(`the ${what} has no valid "${k}" member`);
  }
  const jws = { protected: o.protected as string, payload: o.payload as string, signature: o.signature as string };
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8'));
  } catch {
    throw malformed(`the ${what}'s protected header is not base64url JSON`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw malformed(`the ${what}'s protected header is not a JSON object`);
  const h = header as ProtectedHeader;
  if (typeof h.alg !== 'string') throw malformed(`the ${what}'s protected header has no "alg"`);
  if (typeof h.url !== 'string') throw malformed(`the ${what}'s protected header has no "url"`);
  if ('crit' in h) checkCrit(h.crit, h, what);
  return { jws, header: h };
}

/** Header extensions pki understands and so may be named in "crit": none. */
const UNDERSTOOD_EXTENSIONS: readonly string[] = [];

/**
 * RFC 7515 §4.1.11: "crit" is a non-empty array of distinct header names that are present,
 * not defined by JWS/JWA, and each understood by the recipient, or the JWS is invalid.
 */
function checkCrit(crit: unknown, h: ProtectedHeader, what: string): void {
  if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string' && c !== '')) {
    throw malformed(`the ${what}'s "crit" must be a non-empty array of header names (RFC 7515 §4.1.11)`);
  }
  if (new Set(crit).size !== crit.length) throw malformed(`the ${what}'s "crit" names a header twice`);
  for (const name of crit as string[]) {
    if (!Object.hasOwn(h, name)) throw malformed(`the ${what}'s "crit" names "${name}", which is not in the protected header`);
    if (!UNDERSTOOD_EXTENSIONS.includes(name)) throw malformed(`the ${what}'s "crit" names "${name}", an extension this server does not understand`);
  }
}

/** Checks the header fields every request needs (§6.2, §6.4): allowed alg, exactly one of jwk/kid. */
export function checkRequestHeader(h: ProtectedHeader): { kind: 'jwk'; jwk: JWK } | { kind: 'kid'; kid: string } {
  if (!(JWS_ALGORITHMS as readonly string[]).includes(h.alg)) {
    throw badSignatureAlgorithm(`JWS algorithm "${h.alg}" is not accepted`, [...JWS_ALGORITHMS]);
  }
  const hasJwk = h.jwk !== undefined;
  const hasKid = h.kid !== undefined;
  if (hasJwk === hasKid) throw malformed('the protected header must carry exactly one of "jwk" and "kid"');
  if (hasKid) {
    if (typeof h.kid !== 'string') throw malformed('"kid" must be a string');
    return { kind: 'kid', kid: h.kid };
  }
  if (typeof h.jwk !== 'object' || h.jwk === null || Array.isArray(h.jwk)) throw malformed('"jwk" must be a JSON object');
  return { kind: 'jwk', jwk: h.jwk };
}

/** Imported account keys by (public JWK, alg): importing costs more than verifying, and clients reuse their key. */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 10_000;

/**
 * Imports a client's public JWK for `alg` (cached), refusing private keys,
 * symmetric keys, keys that do not fit the algorithm and weak RSA.
 */
export function importAccountKey(jwk: JWK, alg: string): KeyObject {
  if ('d' in jwk || 'k' in jwk || jwk.kty === 'oct') throw badPublicKey('the JWK must be a public asymmetric key');
  const cacheKey = `${alg} ${JSON.stringify(publicJwk(jwk))}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw badPublicKey(`the JWK is not a valid public key: ${(e as Error).message}`);
  }
  // One JWK per key (RFC 7518 §6: minimal RSA integers, full-length EC coordinates), so the
  // RFC 7638 thumbprint identifies the key (csr-account-key.ts looks CSR keys up by it).
  const canonical = key.export({ format: 'jwk' }) as Record<string, unknown>;
  for (const [k, v] of Object.entries(publicJwk(jwk))) {
    if (k !== 'kty' && canonical[k] !== undefined && canonical[k] !== v) throw badPublicKey(`the JWK member "${k}" is not in canonical form (RFC 7518 §6)`);
  }
  const details = key.asymmetricKeyDetails;
  const fits = { ES256: details?.namedCurve === 'prime256v1', ES384: details?.namedCurve === 'secp384r1', RS256: key.asymmetricKeyType === 'rsa', EdDSA: key.asymmetricKeyType === 'ed25519' }[alg];
  // §6.2: the key is fine, the algorithm is not one it can sign with.
  if (!fits) throw badSignatureAlgorithm(`JWS algorithm ${alg} does not fit the ${describeKey(key)} key`, [...JWS_ALGORITHMS]);
  if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) < 2048) throw badPublicKey('RSA account keys must have at least 2048 bits');
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, key);
  return key;
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ? `${key.asymmetricKeyType} ${curve}` : String(key.asymmetricKeyType);
}

/** Signature sizes of the ECDSA algorithms in JWS form (RFC 7518 §3.4: R || S, fixed length). */
const ECDSA_SIGNATURE_BYTES: Record<string, number> = { ES256: 64, ES384: 96 };
const HASH: Record<string, string | null> = { ES256: 'sha256', ES384: 'sha384', RS256: 'sha256', EdDSA: null };

/**
 * Verifies an account-key JWS (RFC 7515 §5.2) and returns the payload bytes. This is the
 * hot path of every request: node:crypto's one-shot verify on a cached KeyObject costs
 * about half of a WebCrypto verify (measured; see docs/benchmarks.md). `alg` was
 * checked against the allow-list and the key before this is called.
 */
export function verifyAccountSignature(jws: FlattenedJws, alg: string, key: KeyObject): Uint8Array {
  const signature = Buffer.from(jws.signature, 'base64url');
  const size = ECDSA_SIGNATURE_BYTES[alg];
  const ok =
    (size === undefined || signature.length === size) &&
    alg in HASH &&
    verify(HASH[alg]!, Buffer.from(`${jws.protected}.${jws.payload}`), size ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
  if (!ok) throw unauthorized('the JWS signature does not verify');
  return Buffer.from(jws.payload, 'base64url');
}

/**
 * Verifies a MAC-signed JWS (the EAB binding, §7.3.4) with jose and returns the decoded payload
 * bytes; `what` names it in the problem, so a bad binding is never taken for a bad request signature.
 */
export async function verifyMac(jws: FlattenedJws, key: Uint8Array, algorithms: readonly string[], what: string): Promise<Uint8Array> {
  try {
    const r = await flattenedVerify(jws, key, { algorithms: [...algorithms] });
    return r.payload;
  } catch {
    throw unauthorized(`the ${what} MAC does not verify with the external account key`);
  }
}

/**
 * RFC 7638 thumbprint (SHA-256, base64url) of a public JWK: identifies an account key. The
 * required members in lexicographic order, no whitespace (§3.2), hashed directly: jose's
 * generic version costs ten times more, and finalize computes one per CSR.
 */
export async function thumbprint(jwk: JWK): Promise<string> {
  const k = publicJwk(jwk);
  const members = k.kty === 'RSA' ? { e: k.e, kty: k.kty, n: k.n } : k.kty === 'EC' ? { crv: k.crv, kty: k.kty, x: k.x, y: k.y } : { crv: k.crv, kty: k.kty, x: k.x };
  if (Object.values(members).some((v) => typeof v !== 'string')) return calculateJwkThumbprint(k, 'sha256'); // jose says what is missing
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** The public members of a JWK, in a stable form for storage and comparison. */
export function publicJwk(jwk: JWK): JWK {
  switch (jwk.kty) {
    case 'EC':
      return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    case 'RSA':
      return { kty: 'RSA', n: jwk.n, e: jwk.e };
    case 'OKP':
      return { kty: 'OKP', crv: jwk.crv, x: jwk.x };
    default:
      throw badPublicKey(`unsupported key type "${String(jwk.kty)}"`);
  }
}

/** Decodes a JWS payload: "" is POST-as-GET (§6.3) → null; anything else must be a JSON object. */
export function decodePayload(bytes: Uint8Array): Record<string, unknown> | null {
  if (bytes.length === 0) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw malformed('the JWS payload is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed('the JWS payload must be a JSON object');
  return v as Record<string, unknown>;
}
