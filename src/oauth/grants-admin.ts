import type { Clock } from '../domain/clock.ts';
import { parseDuration, formatDuration } from '../domain/duration.ts';
import { CaError } from '../domain/errors.ts';
import { OAuthRepository, type OAuthGrant } from '../store/oauth-grants.ts';
import type { Store } from '../store/store.ts';
import { clientPatternError, MAX_TOKEN_TTL_MS, parseRequirement } from './grants.ts';

export type { OAuthGrant };

/** `pki grants add`: checked before anything is written, stored with its audit event in one transaction. */
export function addGrant(inv: { store: Store }, o: { client: string; audience: string; scopes: string[]; maxTtl?: string; requires?: string[] }, clock: Clock): OAuthGrant {
  const why = clientPatternError(o.client);
  if (why) throw new CaError('malformed', `--client ${o.client}: ${why}`);
  let aud: URL;
  try {
    aud = new URL(o.audience);
  } catch {
    throw new CaError('malformed', `--audience "${o.audience}" is not an absolute URI (RFC 8707 §2)`);
  }
  if (o.audience.includes('#') || aud.hash) throw new CaError('malformed', `--audience "${o.audience}" has a fragment (RFC 8707 §2 forbids it)`);
  const scopes = [...new Set(o.scopes.flatMap((s) => s.split(' ')).filter(Boolean))];
  if (scopes.length === 0) throw new CaError('malformed', 'give at least one --scope (least privilege: nothing is granted without one)');
  for (const s of scopes) if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)) throw new CaError('malformed', `--scope "${s}" is not a scope token (RFC 6749 §3.3)`);
  const maxTtlMs = o.maxTtl === undefined ? null : parseDuration(o.maxTtl);
  if (maxTtlMs !== null && (maxTtlMs <= 0 || maxTtlMs > MAX_TOKEN_TTL_MS)) throw new CaError('malformed', `--max-ttl ${o.maxTtl}: between 1s and ${formatDuration(MAX_TOKEN_TTL_MS)}`);
  const requires = [...new Set(o.requires ?? [])];
  for (const r of requires) parseRequirement(r);
  const repo = new OAuthRepository(inv.store.db);
  return inv.store.transaction(() => {
    const g = repo.addGrant({ client: o.client, audience: o.audience, scopes, maxTtlMs, requires }, clock.now());
    inv.store.audit.append({ at: clock.now(), action: 'oauth.grant.added', actor: 'cli', target: g.id, details: { client: g.client, audience: g.audience, scopes, maxTtlMs, requires } });
    return g;
  });
}

export function listGrants(inv: { store: Store }): OAuthGrant[] {
  return new OAuthRepository(inv.store.db).listGrants();
}

/** `pki grants remove ID`: tokens already issued under it live out their (short) lifetime. */
export function removeGrant(inv: { store: Store }, id: string, clock: Clock): OAuthGrant {
  const repo = new OAuthRepository(inv.store.db);
  return inv.store.transaction(() => {
    const g = repo.removeGrant(id);
    if (!g) throw new CaError('notFound', `no grant "${id}" (pki grants list shows them)`);
    inv.store.audit.append({ at: clock.now(), action: 'oauth.grant.removed', actor: 'cli', target: id, details: { client: g.client, audience: g.audience, scopes: g.scopes } });
    return g;
  });
}
