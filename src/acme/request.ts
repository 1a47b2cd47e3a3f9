import type { JWK } from 'jose';
import type { AccountRecord } from '../store/acme-records.ts';
import type { AcmeContext } from './context.ts';
import { checkRequestHeader, decodePayload, importAccountKey, parseFlattenedJws, thumbprint, verifyAccountSignature, type FlattenedJws, type ProtectedHeader } from './jws.ts';
import { accountDoesNotExist, accountUnauthorized, badNonce, malformed, unauthorized } from './problems.ts';
import type { KeyMode } from './routes.ts';

/** A POST whose JWS passed every check of RFC 8555 §6.2–§6.5. */
export interface VerifiedRequest {
  url: string;
  header: ProtectedHeader;
  /** null for POST-as-GET (§6.3). */
  payload: Record<string, unknown> | null;
  jws: FlattenedJws;
  /** Set when signed with `kid`: the (valid) account. */
  account: AccountRecord | null;
  /** Set when signed with `jwk`: the key and its thumbprint. */
  jwk: JWK | null;
  thumbprint: string;
}

/**
 * Verifies a JWS-signed ACME request in the order the RFC implies: structure,
 * algorithm, key reference, url (§6.4), signature, then the nonce (§6.5) is spent.
 * `keyMode` says which of jwk/kid the resource demands (§6.2).
 */
export async function verifyAcmeRequest(ctx: AcmeContext, body: unknown, path: string, keyMode: KeyMode): Promise<VerifiedRequest> {
  const { jws, header } = parseFlattenedJws(body);
  const ref = checkRequestHeader(header);
  const url = ctx.links.requestUrl(path);
  if (header.url !== url) throw unauthorized(`the JWS "url" (${header.url}) is not the request URL (${url})`);
  if (keyMode === 'jwk' && ref.kind !== 'jwk') throw malformed('this resource must be signed with "jwk", not "kid"');
  if (keyMode === 'kid' && ref.kind !== 'kid') throw malformed('this resource must be signed with "kid" (the account URL), not "jwk"');
  if (typeof header.nonce !== 'string') throw badNonce('the protected header has no "nonce"');

  let account: AccountRecord | null = null;
  let jwk: JWK;
  if (ref.kind === 'kid') {
    const id = ctx.links.accountIdOf(ref.kid);
    account = id ? ctx.store.accounts.get(id) : null;
    if (!account) throw accountDoesNotExist(`no account at ${ref.kid}`);
    if (account.status !== 'valid') throw accountUnauthorized(`account ${ref.kid} is ${account.status}`);
    jwk = account.jwk as JWK;
  } else {
    jwk = ref.jwk;
  }
  // An alg that does not fit the key (jwk or the account's) is badSignatureAlgorithm (§6.2).
  const key = importAccountKey(jwk, header.alg);
  const payloadBytes = verifyAccountSignature(jws, header.alg, key);
  const nonceRefusal = ctx.nonces.consume(header.nonce);
  if (nonceRefusal) throw badNonce(nonceRefusal);
  return {
    url,
    header,
    payload: decodePayload(payloadBytes),
    jws,
    account,
    jwk: ref.kind === 'jwk' ? ref.jwk : null,
    thumbprint: account ? account.thumbprint : await thumbprint(jwk),
  };
}

/** The account of a kid-signed request (handlers that only accept kid). */
export function requireAccount(req: VerifiedRequest): AccountRecord {
  if (!req.account) throw malformed('this resource must be signed with "kid"');
  return req.account;
}
