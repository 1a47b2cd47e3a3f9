import type { AcmeContext, AcmeReply } from '../context.ts';
import { malformed, notFound } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { challengeJson } from '../wire.ts';
import { ownedAuthz, requireLiveBinding } from './common.ts';

/**
 * POST to a challenge (§7.5.1): `{}` asks the server to validate it, POST-as-GET reads it.
 * The answer waits up to `challengeWaitMs` for the validation: most finish in milliseconds,
 * and answering with the outcome spares the client its polls (step-ca even validates
 * synchronously); a slower one is answered `processing` with Retry-After. Link rel="up"
 * names the authorization.
 */
export async function postChallenge(ctx: AcmeContext, req: VerifiedRequest, id: string): Promise<AcmeReply> {
  const account = requireAccount(req);
  let ch = ctx.store.orders.challenge(id);
  if (!ch) throw notFound(`no challenge ${id}`);
  const authz = ownedAuthz(ctx, account, ch.authzId);
  if (req.payload) {
    if (Object.keys(req.payload).length !== 0) throw malformed('respond to a challenge with an empty object {}');
    requireLiveBinding(ctx, account);
    if (ch.status === 'pending') {
      if (authz.status !== 'pending') throw malformed(`the authorization is ${authz.status}; its challenges can no longer be attempted`);
      if (ctx.store.orders.transitionChallenge(id, ['pending'], 'processing')) await waitAtMost(ctx.validations.start(id), ctx.settings.challengeWaitMs);
      ch = ctx.store.orders.challenge(id)!;
    }
  }
  return {
    status: 200,
    json: challengeJson(ch, ctx.links),
    links: [`<${ctx.links.authz(authz.id)}>;rel="up"`],
    ...(ch.status === 'processing' ? { retryAfterS: ctx.settings.retryAfterS } : {}),
  };
}

/** Settles when `p` does or after `ms`, whichever comes first (p never rejects). */
async function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
