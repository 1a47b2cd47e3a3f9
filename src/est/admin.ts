import { acmeSecretKeys } from '../acme/secret-key.ts';
import { systemClock } from '../domain/clock.ts';
import { EstStore } from '../store/est-store.ts';
import type { Store } from '../store/store.ts';
import { createEnrollmentKey, enrollmentKeyInfo, enrollmentSealKey, revokeEnrollmentKey, type EnrollmentKeyInfo } from './enrollment-keys.ts';

/** `pki est keys create`: the secret is returned once; the device sends id:secret as HTTP Basic. */
export async function createEstKey(inv: { dir: string; store: Store }, o: { label: string; scopes: string[]; lifetimeMs?: number; maxUses?: number }): Promise<{ id: string; secret: string }> {
  const { eabSealKey } = await acmeSecretKeys(inv.dir);
  return createEnrollmentKey(new EstStore(inv.store.db), enrollmentSealKey(eabSealKey), { ...o, clock: systemClock, actor: 'cli' });
}

export function listEstKeys(inv: { store: Store }): EnrollmentKeyInfo[] {
  return new EstStore(inv.store.db).enrollmentKeys.list().map(enrollmentKeyInfo);
}

export function revokeEstKey(inv: { store: Store }, id: string): void {
  revokeEnrollmentKey(new EstStore(inv.store.db), id, { clock: systemClock, actor: 'cli' });
}

export type { EnrollmentKeyInfo };
