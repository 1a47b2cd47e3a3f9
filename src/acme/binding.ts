import type { AccountRecord, EabKeyRecord } from '../store/acme-records.ts';
import type { AcmeStore } from '../store/acme-store.ts';
import { unauthorized, type AcmeProblem } from './problems.ts';

/**
 * The external account key an account was bound with must still stand behind every step that
 * can lead to a certificate (newOrder, a challenge response and its validation, finalize,
 * download): revoking it (`pki eab revoke`) stops the account at once, whatever its orders'
 * state. A key's expiry bounds when it may bind (eab.ts); an account bound after it, or a key
 * gone or bound to another account, is refused too. `key` is null for an account without one.
 */
export function checkBinding(store: AcmeStore, account: AccountRecord): { key: EabKeyRecord | null; refusal: AcmeProblem | null } {
  if (account.eabKid === null) return { key: null, refusal: null };
  const key = store.eabKeys.get(account.eabKid);
  const what = `the external account key "${account.eabKid}" of this account`;
  // A fleet key binds many accounts (each counted when bound): the account's own eab_kid names it.
  if (!key || (key.maxAccounts === null && key.accountId !== account.id)) return { key: null, refusal: unauthorized(`${what} no longer binds it`) };
  if (key.status !== 'active') return { key, refusal: unauthorized(`${what} was revoked: it can no longer order, validate, finalize or download`) };
  if (key.expiresAt && account.createdAt.getTime() > key.expiresAt.getTime()) {
    return { key, refusal: unauthorized(`${what} expired at ${key.expiresAt.toISOString()}, before the account was bound`) };
  }
  return { key, refusal: null };
}
