import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import { seal, unsealWith } from '../acme/eab.ts';
import { parseScope } from '../acme/scopes.ts';
import type { EnrollmentKeyRecord } from '../store/est-enrollment-keys.ts';
import type { EstStore } from '../store/est-store.ts';
import { challenges, estForbidden, estUnauthorized } from './errors.ts';

const SECRET_BYTES = 32;

/** The key that seals enrollment-key secrets: its own purpose-bound subkey of the instance secret's EAB seal key. */
export function enrollmentSealKey(eabSealKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', eabSealKey, Buffer.alloc(0), 'pki est enrollment key seal v1', 32));
}

/** Operator view of an enrollment key: never the secret. */
export interface EnrollmentKeyInfo {
  id: string;
  label: string;
  scopes: string[];
  status: 'active' | 'revoked';
  maxUses: number | null;
  uses: number;
  expiresAt: string | null;
  createdAt: string;
}

export const enrollmentKeyInfo = (k: EnrollmentKeyRecord): EnrollmentKeyInfo => ({
  id: k.id,
  label: k.label,
  scopes: k.scopes,
  status: k.status,
  maxUses: k.maxUses,
  uses: k.uses,
  expiresAt: k.expiresAt?.toISOString() ?? null,
  createdAt: k.createdAt.toISOString(),
});

/**
 * `pki est keys create`: a new enrollment key bound to scopes (least privilege: at least one), with
 * an optional expiry and use limit. The secret is returned once and stored sealed; audited.
 */
export function createEnrollmentKey(
  store: EstStore,
  sealKey: Uint8Array,
  o: { label: string; scopes: string[]; clock: Clock; lifetimeMs?: number; maxUses?: number; actor: string },
): { id: string; secret: string } {
  if (!/^[\w.@-]{1,64}$/.test(o.label)) throw new CaError('malformed', `label "${o.label}" must be 1-64 letters, digits, ".", "_", "-" or "@"`);
  if (o.scopes.length === 0) throw new CaError('malformed', 'give at least one --allow scope (least privilege): e.g. --allow "dns:*.devices.internal"');
  for (const s of o.scopes) parseScope(s);
  if (o.maxUses !== undefined && !(Number.isSafeInteger(o.maxUses) && o.maxUses >= 1)) throw new CaError('malformed', '--max-uses must be a whole number of at least 1');
  // The id never contains ":" (RFC 7617 §2: the user-id of Basic ends at the first colon).
  const id = `est-${randomBytes(9).toString('base64url')}`;
  const secret = randomBytes(SECRET_BYTES);
  const now = o.clock.now();
  const expiresAt = o.lifetimeMs === undefined ? null : new Date(now.getTime() + o.lifetimeMs);
  store.transaction(() => {
    store.enrollmentKeys.insert({ id, label: o.label, sealedSecret: seal(sealKey, id, secret), scopes: o.scopes, status: 'active', maxUses: o.maxUses ?? null, uses: 0, expiresAt, createdAt: now });
    store.audit.append({ at: now, action: 'est.key.created', actor: o.actor, target: id, details: { label: o.label, scopes: o.scopes, maxUses: o.maxUses ?? null, expiresAt: expiresAt?.toISOString() ?? null } });
  });
  return { id, secret: secret.toString('base64url') };
}

/** `pki est keys revoke`: the key enrolls nothing more (certificates it enrolled stay; revoke those by serial). */
export function revokeEnrollmentKey(store: EstStore, id: string, o: { clock: Clock; actor: string }): void {
  store.transaction(() => {
    const k = store.enrollmentKeys.get(id);
    if (!k) throw new CaError('notFound', `no EST enrollment key "${id}"`);
    if (!store.enrollmentKeys.revoke(id)) throw new CaError('conflict', `EST enrollment key "${id}" is already revoked`);
    store.audit.append({ at: o.clock.now(), action: 'est.key.revoked', actor: o.actor, target: id, details: { label: k.label } });
  });
}

/** A stand-in sealed secret compared against when the id is unknown, so timing does not tell known ids from unknown ones. */
const DUMMY = randomBytes(SECRET_BYTES);

/**
 * HTTP Basic (RFC 7617) id:secret → the enrollment key, checked in constant time. An unknown id and
 * a wrong secret get the same 401; a right secret on a revoked, expired or used-up key gets 403
 * saying which, since the holder has proved they hold it.
 */
export function authenticateEnrollmentKey(store: EstStore, sealKey: Uint8Array, credentials: string, now: Date, bearer: boolean): EnrollmentKeyRecord {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials) || colon < 0) throw estUnauthorized('the Basic credentials are not base64 of "id:secret"', challenges(bearer));
  const id = decoded.slice(0, colon);
  const given = Buffer.from(decoded.slice(colon + 1), 'base64url');
  const key = store.enrollmentKeys.get(id);
  let expected: Uint8Array = DUMMY;
  if (key) {
    try {
      expected = unsealWith(sealKey, key.id, key.sealedSecret);
    } catch {
      expected = DUMMY;
    }
  }
  const same = given.length === expected.length && timingSafeEqual(given, expected);
  if (!key || !same || expected === DUMMY) throw estUnauthorized('unknown enrollment key or wrong secret', challenges(bearer));
  if (key.status !== 'active') throw estForbidden('keyRevoked', `enrollment key "${id}" was revoked`);
  if (key.expiresAt && key.expiresAt <= now) throw estForbidden('keyExpired', `enrollment key "${id}" expired at ${key.expiresAt.toISOString()}`);
  if (key.maxUses !== null && key.uses >= key.maxUses) throw estForbidden('keyUsedUp', `enrollment key "${id}" has enrolled its ${key.maxUses} device(s)`);
  return key;
}
