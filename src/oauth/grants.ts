import { dnsNameError } from '../domain/dns-name.ts';
import { parseDuration, formatDuration } from '../domain/duration.ts';
import { CaError } from '../domain/errors.ts';
import { uriError } from '../domain/uri.ts';
import type { OAuthGrant } from '../store/oauth-grants.ts';
import type { AuthenticatedClient } from './client-auth.ts';
import { OAuthError } from './errors.ts';

/** Longest access token (RFC 9068 tokens are short-lived; also the JWKS overlap of a retired key). */
export const MAX_TOKEN_TTL_MS = 15 * 60_000;

/**
 * Authentication context class references (RFC 9068 §2.2.1 `acr`) for machines. A token's acr is
 * `urn:pki:acr:` followed by what the grants it was issued under required and the certificate
 * met, joined by "+" in this order: `mtls` (a valid pki certificate, nothing more),
 * `fresh` (issued within the grant's fresh:D window), `profile:NAME` (issued under that profile,
 * e.g. profile:hsm for hardware-held keys). A resource server asking for acr R accepts a token
 * whose parts include all of R's (resource-server/verifier.ts).
 */
export const ACR_PREFIX = 'urn:pki:acr:';

/** One step-up requirement of a grant. */
export type Requirement = { kind: 'fresh'; withinMs: number } | { kind: 'profile'; name: string } | { kind: 'ttl'; maxMs: number };

export function parseRequirement(text: string): Requirement {
  const m = /^(fresh|profile|ttl):(.+)$/.exec(text);
  if (m?.[1] === 'profile') {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(m[2]!)) throw new CaError('malformed', `--require ${text}: a profile name is lowercase letters, digits and "-"`);
    return { kind: 'profile', name: m[2]! };
  }
  if (m?.[1] === 'fresh' || m?.[1] === 'ttl') {
    const ms = parseDuration(m[2]!);
    if (ms <= 0) throw new CaError('malformed', `--require ${text}: the duration must be positive`);
    if (m[1] === 'ttl' && ms > MAX_TOKEN_TTL_MS) throw new CaError('malformed', `--require ${text}: tokens never live past ${formatDuration(MAX_TOKEN_TTL_MS)} anyway`);
    return m[1] === 'fresh' ? { kind: 'fresh', withinMs: ms } : { kind: 'ttl', maxMs: ms };
  }
  throw new CaError('malformed', `--require "${text}": expected fresh:DURATION, profile:NAME or ttl:DURATION`);
}

/** Why `pattern` is not a client pattern: an exact SPIFFE ID or DNS name, "spiffe://td/path/*", or "*.zone". */
export function clientPatternError(pattern: string): string | null {
  if (pattern.startsWith('spiffe://')) {
    const base = pattern.endsWith('/*') ? pattern.slice(0, -2) : pattern;
    const why = uriError(base);
    if (why) return why;
    if (pattern.endsWith('/*') && !/^spiffe:\/\/[^/]+/.test(base)) return `"${pattern}" names no trust domain`;
    return null;
  }
  if (pattern === '*' || pattern === '*.') return 'a grant for every client is not least privilege: name a SPIFFE prefix or a DNS zone';
  return dnsNameError(pattern, true);
}

/** Whether a client id matches a grant's pattern: exact, whole SPIFFE path segments under "…/*", or a DNS name under "*.zone". */
export function clientMatches(pattern: string, clientId: string): boolean {
  if (pattern.endsWith('/*')) return clientId.startsWith(pattern.slice(0, -1)) && clientId.length > pattern.length - 1;
  if (pattern.startsWith('*.')) return !clientId.includes(':') && clientId.endsWith(pattern.slice(1));
  return pattern === clientId;
}

/** What the grants allow for one request: the scopes, the lifetime cap, and the acr the certificate met. */
export interface Decision {
  scopes: string[];
  ttlMs: number;
  acr: string;
  grantIds: string[];
}

/**
 * Decides a token request against the grants for its audience (RFC 6749 §3.3, RFC 8707 §2):
 * no grant for this client and audience is invalid_target; a scope no grant gives is
 * invalid_scope; a scope granted only under step-up requirements the certificate does not meet is
 * insufficient_user_authentication naming them. No scope asked: every scope granted.
 */
export function decide(grants: OAuthGrant[], client: AuthenticatedClient, audience: string, requested: string[] | null, now: Date): Decision {
  const mine = grants.filter((g) => g.audience === audience && clientMatches(g.client, client.clientId));
  if (mine.length === 0) throw new OAuthError('invalid_target', `client ${client.clientId} has no grant for resource ${audience}`);
  const scopes = requested ?? [...new Set(mine.flatMap((g) => g.scopes))];
  const used = new Map<string, { grant: OAuthGrant; met: string[] }>();
  for (const scope of scopes) {
    const candidates = mine.filter((g) => g.scopes.includes(scope));
    if (candidates.length === 0) throw new OAuthError('invalid_scope', `scope "${scope}" is not granted to ${client.clientId} for ${audience}`);
    const judged = candidates.map((g) => ({ grant: g, ...judge(g, client, now) }));
    const ok = judged.find((j) => j.missing.length === 0);
    if (!ok) {
      const first = judged[0]!;
      throw new OAuthError('insufficient_user_authentication', `scope "${scope}" needs ${first.missing.join(' and ')}`, {
        extra: { acr_values: acrOf(first.grant.requires.map(parseRequirement)), required: first.grant.requires },
      });
    }
    used.set(ok.grant.id, { grant: ok.grant, met: ok.met });
  }
  // A token lives MAX_TOKEN_TTL_MS unless a grant it draws on caps it (--max-ttl, --require ttl:D).
  let ttlMs = MAX_TOKEN_TTL_MS;
  const met = new Set<string>();
  for (const { grant, met: m } of used.values()) {
    if (grant.maxTtlMs !== null) ttlMs = Math.min(ttlMs, grant.maxTtlMs);
    for (const r of grant.requires.map(parseRequirement)) if (r.kind === 'ttl') ttlMs = Math.min(ttlMs, r.maxMs);
    for (const x of m) met.add(x);
  }
  return { scopes, ttlMs, acr: acrFromParts([...met]), grantIds: [...used.keys()] };
}

/** What a grant's requirements ask that the certificate meets and misses, in words a client's operator can act on. */
function judge(g: OAuthGrant, c: AuthenticatedClient, now: Date): { met: string[]; missing: string[] } {
  const met: string[] = [];
  const missing: string[] = [];
  for (const r of g.requires.map(parseRequirement)) {
    if (r.kind === 'fresh') {
      const age = now.getTime() - c.issuedAt.getTime();
      if (age <= r.withinMs) met.push('fresh');
      else missing.push(`fresh:${formatDuration(r.withinMs)} (a certificate issued within ${formatDuration(r.withinMs)}; this one is ${formatDuration(Math.max(0, age))} old: renew it)`);
    } else if (r.kind === 'profile') {
      if (c.profile === r.name) met.push(`profile:${r.name}`);
      else missing.push(`profile:${r.name} (a certificate issued under profile "${r.name}"; this one is "${c.profile}")`);
    }
  }
  return { met, missing };
}

/** The acr of a set of met requirement parts, in the fixed order: fresh, then profiles by name. */
export function acrFromParts(parts: string[]): string {
  const sorted = [...new Set(parts)].sort((a, b) => (a === 'fresh' ? -1 : b === 'fresh' ? 1 : a.localeCompare(b)));
  return ACR_PREFIX + (sorted.length ? sorted.join('+') : 'mtls');
}

function acrOf(reqs: Requirement[]): string {
  return acrFromParts(reqs.flatMap((r) => (r.kind === 'fresh' ? ['fresh'] : r.kind === 'profile' ? [`profile:${r.name}`] : [])));
}
