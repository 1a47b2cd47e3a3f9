import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import type { Clock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import type { AcmeStore } from '../store/acme-store.ts';
import type { EabKeyRecord } from '../store/acme-records.ts';
import { EAB_ALGORITHMS, parseFlattenedJws, publicJwk, verifyMac } from './jws.ts';
import { malformed, unauthorized } from './problems.ts';
import { parseScope } from './scopes.ts';

/**
 * External account binding keys (RFC 8555 §7.3.4). The HMAC key is shown once at
 * creation and stored sealed (AES-256-GCM, the kid as associated data) under a key
 * derived from the instance secret, so a copy of the database alone cannot bind accounts.
 */
export function createEabKey(store: AcmeStore, sealKey: Uint8Array, o: { label: string; scopes: string[]; clock: Clock; lifetimeMs?: number; maxAccounts?: number }): { kid: string; hmacKey: string } {
  if (!/^[\w.@-]{1,64}$/.test(o.label)) throw new CaError('malformed', `label "${o.label}" must be 1-64 letters, digits, ".", "_", "-" or "@"`);
  if (o.maxAccounts !== undefined && !(Number.isSafeInteger(o.maxAccounts) && o.maxAccounts >= 1)) throw new CaError('malformed', `--max-accounts must be a whole number of at least 1, not ${o.maxAccounts}`);
  for (const s of o.scopes) parseScope(s);
  const kid = `kid-${randomBytes(9).toString('base64url')}`;
  const key = randomBytes(32);
  const now = o.clock.now();
  const expiresAt = o.lifetimeMs === undefined ? null : new Date(now.getTime() + o.lifetimeMs);
  store.eabKeys.insert({ kid, label: o.label, sealedKey: seal(sealKey, kid, key), scopes: o.scopes, status: 'active', accountId: null, createdAt: now, expiresAt, maxAccounts: o.maxAccounts !== undefined && o.maxAccounts > 1 ? o.maxAccounts : null, boundCount: 0 });
  return { kid, hmacKey: key.toString('base64url') };
}

/** AES-256-GCM with `id` as associated data: a sealed secret moved to another row does not open. EST enrollment keys use it too. */
export function seal(sealKey: Uint8Array, id: string, key: Uint8Array): Uint8Array {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', sealKey, iv).setAAD(Buffer.from(id));
  const ct = Buffer.concat([c.update(key), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]);
}

function unseal(sealKey: Uint8Array, rec: EabKeyRecord): Uint8Array {
  return unsealWith(sealKey, rec.kid, rec.sealedKey);
}

/** Opens what `seal` sealed under the same id; throws when the bytes or the id differ. */
export function unsealWith(sealKey: Uint8Array, id: string, sealed: Uint8Array): Uint8Array {
  const b = Buffer.from(sealed);
  const d = createDecipheriv('aes-256-gcm', sealKey, b.subarray(0, 12)).setAAD(Buffer.from(id));
  d.setAuthTag(b.subarray(12, 28));
  return Buffer.concat([d.update(b.subarray(28)), d.final()]);
}

/** Why a key binds no more accounts: one bound (a single-use key) or its fleet limit reached. */
export function usedUp(rec: EabKeyRecord): string {
  return rec.maxAccounts === null
    ? `external account key "${rec.kid}" is already bound to an account`
    : `external account key "${rec.kid}" has bound its ${rec.maxAccounts} accounts (--max-accounts): ask for a new key`;
}

/**
 * Checks the `externalAccountBinding` of a newAccount payload (§7.3.4): a JWS by
 * the EAB key (HMAC), kid = the EAB key id, url = newAccount URL, payload = the
 * account's own JWK. Returns the key record and the binding as stored on the account (its
 * three members only); binding happens with the account insert.
 */
export async function verifyEab(store: AcmeStore, sealKey: Uint8Array, binding: unknown, o: { url: string; accountJwk: JWK; now: Date }): Promise<{ key: EabKeyRecord; binding: Record<string, unknown> }> {
  const { jws, header } = parseFlattenedJws(binding, 'externalAccountBinding');
  if (!(EAB_ALGORITHMS as readonly string[]).includes(header.alg)) throw malformed(`externalAccountBinding must use a MAC algorithm (${EAB_ALGORITHMS.join(', ')})`);
  if (header.nonce !== undefined) throw malformed('externalAccountBinding must not carry a nonce');
  if (header.url !== o.url) throw malformed('externalAccountBinding "url" must be the newAccount URL');
  if (typeof header.kid !== 'string') throw malformed('externalAccountBinding has no "kid"');
  const rec = store.eabKeys.get(header.kid);
  if (!rec || rec.status !== 'active') throw unauthorized(`external account key "${header.kid}" is unknown or revoked`);
  if (rec.expiresAt && rec.expiresAt <= o.now && rec.boundCount < (rec.maxAccounts ?? 1)) {
    throw unauthorized(`external account key "${header.kid}" expired at ${rec.expiresAt.toISOString()}: ask for a new one`);
  }
  const payload = await verifyMac(jws, unseal(sealKey, rec), EAB_ALGORITHMS, `externalAccountBinding (kid "${rec.kid}")`);
  let bound: JWK;
  try {
    bound = JSON.parse(Buffer.from(payload).toString('utf8')) as JWK;
  } catch {
    throw malformed('externalAccountBinding payload is not a JWK');
  }
  if (JSON.stringify(publicJwk(bound)) !== JSON.stringify(publicJwk(o.accountJwk))) throw unauthorized('externalAccountBinding is for a different account key');
  if (rec.boundCount >= (rec.maxAccounts ?? 1)) throw unauthorized(usedUp(rec));
  return { key: rec, binding: { protected: jws.protected, payload: jws.payload, signature: jws.signature } };
}
