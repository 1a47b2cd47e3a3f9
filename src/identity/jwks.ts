import { request } from 'node:https';
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { CaError } from '../domain/errors.ts';
import type { IdentityIssuerRecord } from '../store/identity-issuers.ts';

/** How long fetched keys are used without refetching, how soon an unknown kid or a failure may refetch, and the fetch time limit. */
export interface JwksTiming {
  cacheMaxAgeMs: number;
  cooldownMs: number;
  timeoutMs: number;
}

export const DEFAULT_JWKS_TIMING: JwksTiming = { cacheMaxAgeMs: 10 * 60_000, cooldownMs: 30_000, timeoutMs: 5_000 };

/** A JWKS document larger than this is refused (a key set holds a handful of keys). */
const MAX_JWKS_BYTES = 1 << 20;

/**
 * Checks a JWKS document an operator hands to `pki issuers add --jwks-file`: a `keys` array of
 * public asymmetric keys only. A symmetric (`oct`) key or a private part would make every
 * holder of the file able to sign tokens.
 */
export function checkJwksDocument(text: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CaError('malformed', `the JWKS is not JSON: ${(e as Error).message}`);
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new CaError('malformed', 'the JWKS has no "keys" array (RFC 7517 §5)');
  for (const [i, k] of (keys as Record<string, unknown>[]).entries()) {
    if (typeof k !== 'object' || k === null) throw new CaError('malformed', `JWKS key ${i} is not an object`);
    if (k.kty !== 'RSA' && k.kty !== 'EC' && k.kty !== 'OKP') throw new CaError('malformed', `JWKS key ${i} has kty ${JSON.stringify(k.kty)}: only public RSA, EC and OKP keys are trusted`);
    if ('d' in k) throw new CaError('malformed', `JWKS key ${i} holds a private key ("d"): give the issuer's public keys only`);
  }
  return JSON.stringify(doc);
}

/**
 * The key sets of trusted issuers, kept across verifications so a URL's keys are cached (jose's
 * remote set: fetched once, refetched after `cacheMaxAgeMs` or for an unknown kid after
 * `cooldownMs`). Cached keys keep working while the endpoint is down until their cache age ends;
 * a failed fetch is not retried before the cooldown either, so unknown kids cannot make pki
 * hammer a dead endpoint.
 */
export class KeySets {
  readonly #sets = new Map<string, JWTVerifyGetKey>();
  readonly #timing: JwksTiming;

  constructor(timing: Partial<JwksTiming> = {}) {
    this.#timing = { ...DEFAULT_JWKS_TIMING, ...timing };
  }

  of(r: IdentityIssuerRecord): JWTVerifyGetKey {
    // Keyed on what the keys come from: an issuer removed and added again with other keys gets a new set.
    const key = JSON.stringify([r.issuer, r.jwks, r.jwksUrl, r.jwksCa]);
    let set = this.#sets.get(key);
    if (!set) {
      set = r.jwksUrl
        ? createRemoteJWKSet(new URL(r.jwksUrl), {
            cacheMaxAge: this.#timing.cacheMaxAgeMs,
            cooldownDuration: this.#timing.cooldownMs,
            timeoutDuration: this.#timing.timeoutMs,
            [customFetch]: httpsFetch(r.jwksCa, this.#timing.cooldownMs),
          })
        : createLocalJWKSet(JSON.parse(r.jwks ?? '{"keys":[]}'));
      for (const k of this.#sets.keys()) if (JSON.parse(k)[0] === r.issuer) this.#sets.delete(k);
      this.#sets.set(key, set);
    }
    return set;
  }
}

/**
 * GET over node:https, trusting `caPem` when given (a cluster's own CA), refusing redirects and
 * bodies past 1 MiB. After a failure, further calls fail at once until `cooldownMs` has passed.
 */
function httpsFetch(caPem: string | null, cooldownMs: number): (url: string, init: RequestInit) => Promise<Response> {
  let failedAt = -Infinity;
  let lastError = '';
  return async (url, init) => {
    if (Date.now() - failedAt < cooldownMs) throw new Error(`${lastError} (not retried for ${Math.ceil((failedAt + cooldownMs - Date.now()) / 1000)} s)`);
    try {
      return await get(url, caPem, init.signal ?? undefined, init.headers as Headers);
    } catch (e) {
      failedAt = Date.now();
      lastError = (e as Error).message;
      throw e;
    }
  };
}

function get(url: string, caPem: string | null, signal: AbortSignal | undefined, headers: Headers | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', signal, headers: Object.fromEntries(headers?.entries() ?? []), ...(caPem ? { ca: caPem } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        reject(new Error(`JWKS endpoint ${url} answered HTTP ${status}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_JWKS_BYTES) {
          req.destroy(new Error(`JWKS endpoint ${url} sent more than ${MAX_JWKS_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: 200 })));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(new Error(`JWKS endpoint ${url}: ${e.message}`)));
    req.end();
  });
}
