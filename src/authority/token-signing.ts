import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';
import { readTlv } from '../domain/der.ts';
import { CaError } from '../domain/errors.ts';
import type { Signer } from '../domain/signer.ts';
import type { KeyStore } from '../keystore/keystore.ts';
import { OAuthRepository } from '../store/oauth-grants.ts';
import type { Store } from '../store/store.ts';

/** A public JWK as RFC 7517 publishes it (EC P-256 here). */
export type PublicJwk = { kty: string; crv?: string; x?: string; y?: string; kid: string; alg: string; use: string };

/**
 * What the OAuth side may do with the token-signing keys: sign the claims it decided, and read the
 * public JWKS. It never sees a Signer (test/architecture.test.ts: only keystore/ and authority/ hold one).
 */
export interface AccessTokenSigner {
  /** A compact JWS (RFC 7515) of `claims` with `typ: at+jwt` (RFC 9068 §2.1), ES256, by the current key. */
  signAccessToken(claims: Record<string, unknown>): Promise<string>;
  /** Every key a live token may be signed by: the current one, the next (published ahead) and retired ones still in their overlap. */
  jwks(): { keys: PublicJwk[] };
  /** Re-reads which keys exist (`pki keys rotate-token` run by another process). */
  refresh(): Promise<void>;
}

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/** The JWK (RFC 7517) of a P-256 SPKI with its RFC 7638 thumbprint as kid. */
export function publicJwkOf(spki: Uint8Array): PublicJwk {
  const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as { kty: string; crv: string; x: string; y: string };
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new CaError('config', 'the token-signing key must be ECDSA P-256 (ES256)');
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  const thumbprint = createHashB64u(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }));
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: thumbprint, alg: 'ES256', use: 'sig' };
}

function createHashB64u(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * DER ECDSA-Sig-Value (what a Signer returns, X.509's form) → JOSE's fixed-width r || s
 * (RFC 7518 §3.4: 32 octets each for P-256).
 */
export function derToJoseSignature(der: Uint8Array, size = 32): Uint8Array {
  const seq = readTlv(der, 0, der.length);
  if (!seq || seq.tag !== 0x30) throw new CaError('internal', 'the ECDSA signature is not a DER SEQUENCE');
  const out = new Uint8Array(2 * size);
  let pos = seq.start;
  for (let i = 0; i < 2; i++) {
    const int = readTlv(der, pos, seq.end);
    if (!int || int.tag !== 0x02) throw new CaError('internal', 'the ECDSA signature is not two DER INTEGERs');
    let v = der.subarray(int.start, int.end);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new CaError('internal', 'an ECDSA signature component is too long for P-256');
    out.set(v, i * size + (size - v.length));
    pos = int.end;
  }
  return out;
}

/**
 * How long a rotation publishes the new key before it signs: longer than a resource server's
 * JWKS refetch cooldown (30 s in resource-server/verifier.ts, jose's default), so a verifier that
 * meets the new kid may fetch the JWKS again and finds it there.
 */
export const PUBLISH_AHEAD_MS = 60_000;

/**
 * `pki init` (signs at once: nobody has cached a JWKS yet) and `pki keys rotate-token` (signs
 * PUBLISH_AHEAD_MS later; the keys signing until then retire at that moment): a new ES256 key in
 * the key store.
 */
export async function createTokenSigningKey(keyStore: KeyStore, store: Store, clock: Clock, actor: string, o: { aheadMs?: number } = {}): Promise<{ label: string; kid: string; retired: number; signsFrom: Date }> {
  const label = `oauth-token-${clock.now().getTime().toString(36)}-${randomBytes(3).toString('hex')}`;
  const info = await keyStore.createKey({ label, alg: 'ecdsa-p256' });
  const { kid } = publicJwkOf(info.publicKeySpki);
  const repo = new OAuthRepository(store.db);
  const now = clock.now();
  const signsFrom = new Date(now.getTime() + (o.aheadMs ?? 0));
  const retired = store.transaction(() => {
    repo.addSigningKey(label, kid, now, signsFrom);
    const n = repo.retireOthers(label, signsFrom);
    store.audit.append({ at: now, action: 'oauth.signing-key.created', actor, target: label, details: { kid, alg: 'ES256', store: info.store, signsFrom: signsFrom.toISOString(), retiredKeys: n } });
    return n;
  });
  return { label, kid, retired, signsFrom };
}

interface LoadedKey {
  label: string;
  jwk: PublicJwk;
  signsFrom: number;
  retiredAt: number | null;
  signer: Signer | null;
  header: string;
}

/**
 * The token-signing keys of an instance, held here so their Signers never leave authority/. Every
 * key is published from its creation; the one with the latest signs_from not after now signs; a
 * retired key stays in the JWKS for `overlapMs` (the longest token lifetime) after it retired, so
 * every token it signed verifies until it expires (rotation with overlap both ways).
 */
export class TokenSigningKeys implements AccessTokenSigner {
  readonly #keyStore: KeyStore;
  readonly #repo: OAuthRepository;
  readonly #clock: Clock;
  readonly #overlapMs: number;
  #keys: LoadedKey[] = [];

  private constructor(keyStore: KeyStore, store: Store, clock: Clock, overlapMs: number) {
    this.#overlapMs = overlapMs;
    this.#keyStore = keyStore;
    this.#repo = new OAuthRepository(store.db);
    this.#clock = clock;
  }

  static async open(o: { keyStore: KeyStore; store: Store; clock: Clock; overlapMs: number }): Promise<TokenSigningKeys> {
    const keys = new TokenSigningKeys(o.keyStore, o.store, o.clock, o.overlapMs);
    await keys.refresh();
    return keys;
  }

  /** Re-reads the keys' rows; a key that will or may still sign gets its signer, a retired one only its public key. */
  async refresh(): Promise<void> {
    const now = this.#clock.now().getTime();
    const known = new Map(this.#keys.map((k) => [k.label, k]));
    const loaded: LoadedKey[] = [];
    for (const r of this.#repo.signingKeys()) {
      const retiredAt = r.retiredAt?.getTime() ?? null;
      const signs = retiredAt === null || retiredAt > now;
      const had = known.get(r.label);
      if (had && (had.signer || !signs)) {
        loaded.push({ ...had, retiredAt, signer: signs ? had.signer : null });
        continue;
      }
      const signer = signs ? await this.#keyStore.getSigner({ label: r.label }) : null;
      const spki = signer?.publicKeySpki ?? (await this.#keyStore.getPublicKey({ label: r.label }).catch(() => null))?.publicKeySpki;
      if (!spki) continue; // a retired key gone from the store: nothing left to publish
      const jwk = publicJwkOf(spki);
      if (jwk.kid !== r.kid) throw new CaError('config', `token-signing key "${r.label}" is not the key recorded for it (kid ${r.kid})`);
      loaded.push({ label: r.label, jwk, signsFrom: r.signsFrom.getTime(), retiredAt, signer, header: b64u(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid })) });
    }
    this.#keys = loaded;
  }

  /** The key that signs now: the latest signs_from not after now, not retired by now. */
  #current(): LoadedKey | null {
    const now = this.#clock.now().getTime();
    let best: LoadedKey | null = null;
    for (const k of this.#keys) if (k.signer && k.signsFrom <= now && (k.retiredAt === null || k.retiredAt > now) && (!best || k.signsFrom >= best.signsFrom)) best = k;
    return best;
  }

  get currentKid(): string | null {
    return this.#current()?.jwk.kid ?? null;
  }

  async signAccessToken(claims: Record<string, unknown>): Promise<string> {
    const key = this.#current();
    if (!key?.signer) throw new CaError('config', 'no token-signing key: run `pki keys rotate-token` to create one');
    const input = `${key.header}.${b64u(JSON.stringify(claims))}`;
    const der = await key.signer.sign(Buffer.from(input, 'latin1'));
    return `${input}.${b64u(derToJoseSignature(der))}`;
  }

  jwks(): { keys: PublicJwk[] } {
    const cutoff = this.#clock.now().getTime() - this.#overlapMs;
    return { keys: this.#keys.filter((k) => k.retiredAt === null || k.retiredAt > cutoff).map((k) => k.jwk) };
  }
}
