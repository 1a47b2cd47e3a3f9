import { systemClock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import { AcmeStore } from '../store/acme-store.ts';
import type { Store } from '../store/store.ts';
import { createEabKey } from './eab.ts';
import { acmeSecretKeys } from './secret-key.ts';

/** Operator view of an EAB key: never the HMAC key. */
export interface EabKeyInfo {
  kid: string;
  label: string;
  scopes: string[];
  status: 'active' | 'revoked';
  account: string | null;
  /** Accounts bound, and how many the key may bind (1 unless a fleet key). */
  accounts: number;
  maxAccounts: number;
  createdAt: string;
  expiresAt: string | null;
}

/** `pki eab create`: a new key with its scopes; the HMAC key is returned once and stored sealed. */
export async function createEab(inv: { dir: string; store: Store }, o: { label: string; scopes: string[]; lifetimeMs?: number; maxAccounts?: number }): Promise<{ kid: string; hmacKey: string }> {
  if (o.scopes.length === 0) throw new CaError('malformed', 'give at least one --allow scope (least privilege): e.g. --allow "dns:*.payments.internal"');
  const { eabSealKey } = await acmeSecretKeys(inv.dir);
  const acme = new AcmeStore(inv.store.db);
  return inv.store.transaction(() => {
    const key = createEabKey(acme, eabSealKey, { label: o.label, scopes: o.scopes, clock: systemClock, lifetimeMs: o.lifetimeMs, maxAccounts: o.maxAccounts });
    inv.store.audit.append({ at: systemClock.now(), action: 'acme.eab.created', actor: 'cli', target: key.kid, details: { label: o.label, scopes: o.scopes, lifetimeMs: o.lifetimeMs ?? null, maxAccounts: o.maxAccounts ?? 1 } });
    return key;
  });
}

export function listEab(inv: { store: Store }): EabKeyInfo[] {
  return new AcmeStore(inv.store.db).eabKeys.list().map((k) => ({
    kid: k.kid,
    label: k.label,
    scopes: k.scopes,
    status: k.status,
    account: k.accountId,
    accounts: k.boundCount,
    maxAccounts: k.maxAccounts ?? 1,
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString() ?? null,
  }));
}

/** `pki eab revoke`: the key can no longer bind, and accounts bound to it can no longer order. */
export function revokeEab(inv: { store: Store }, kid: string): void {
  const acme = new AcmeStore(inv.store.db);
  inv.store.transaction(() => {
    const k = acme.eabKeys.get(kid);
    if (!k) throw new CaError('notFound', `no EAB key "${kid}"`);
    if (!acme.eabKeys.revoke(kid)) throw new CaError('conflict', `EAB key "${kid}" is already revoked`);
    inv.store.audit.append({ at: systemClock.now(), action: 'acme.eab.revoked', actor: 'cli', target: kid, details: { label: k.label } });
  });
}
