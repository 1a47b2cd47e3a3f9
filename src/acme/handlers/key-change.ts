import type { JWK } from 'jose';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { checkRequestHeader, decodePayload, importAccountKey, parseFlattenedJws, publicJwk, thumbprint, verifyAccountSignature } from '../jws.ts';
import { conflict, malformed, unauthorized } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { accountJson } from '../wire.ts';

/**
 * POST keyChange (§7.3.5): the outer JWS is signed by the current key (kid), its
 * payload is an inner JWS signed by the new key (jwk) over {account, oldKey}.
 * Both signatures prove possession; the swap is a compare-and-set on the old key.
 */
export async function changeKey(ctx: AcmeContext, req: VerifiedRequest): Promise<AcmeReply> {
  const account = requireAccount(req);
  const { jws, header } = parseFlattenedJws(req.payload, 'keyChange inner JWS');
  const ref = checkRequestHeader(header);
  if (ref.kind !== 'jwk') throw malformed('the inner JWS must carry the new key as "jwk"');
  if (header.url !== req.url) throw malformed('the inner JWS "url" must equal the outer one');
  const newKey = importAccountKey(ref.jwk, header.alg);
  const inner = decodePayload(verifyAccountSignature(jws, header.alg, newKey));
  if (!inner) throw malformed('the inner JWS payload must be {account, oldKey}');
  const kid = ctx.links.account(account.id);
  if (inner.account !== kid) throw unauthorized('the inner JWS names another account');
  if (typeof inner.oldKey !== 'object' || inner.oldKey === null) throw malformed('the inner JWS has no "oldKey"');
  if ((await thumbprint(inner.oldKey as JWK)) !== account.thumbprint) throw unauthorized('"oldKey" is not the current account key');

  const newThumbprint = await thumbprint(ref.jwk);
  if (newThumbprint === account.thumbprint) throw malformed('the new key is the current key');
  const holder = ctx.store.accounts.byThumbprint(newThumbprint);
  if (holder) throw conflict('another account already uses the new key', ctx.links.account(holder.id));
  const swapped = ctx.store.transaction(() => {
    if (!ctx.store.accounts.replaceKey(account.id, account.thumbprint, publicJwk(ref.jwk) as Record<string, unknown>, newThumbprint)) return false;
    ctx.store.audit.append({ at: ctx.clock.now(), action: 'acme.account.key-changed', actor: `acme:${account.id}`, target: account.id, details: { oldThumbprint: account.thumbprint, newThumbprint } });
    return true;
  });
  if (!swapped) throw conflict('the account key changed concurrently, or the new key is taken');
  ctx.logger.info('acme.account.key-changed', { account: account.id });
  return { status: 200, json: accountJson(ctx.store.accounts.get(account.id)!, ctx.links), location: kid };
}
