import type { AcmeContext, AcmeReply } from '../context.ts';
import { malformed, notFound } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { TKAUTH_01 } from '../validation/tkauth-01.ts';
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
    const response = challengeResponse(ch.type, req.payload);
    requireLiveBinding(ctx, account);
    if (ch.status === 'pending') {
      if (authz.status !== 'pending') throw malformed(`the authorization is ${authz.status}; its challenges can no longer be attempted`);
      if (ctx.store.orders.transitionChallenge(id, ['pending'], 'processing')) await waitAtMost(ctx.validations.start(id, response), ctx.settings.challengeWaitMs);
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

/**
 * What a challenge response may carry: `{}` for http-01, dns-01 and tls-alpn-01 (§7.5.1), and
 * exactly `{"atc": "<token>"}` for tkauth-01 (RFC 9447 §4).
 */
function challengeResponse(type: string, payload: Record<string, unknown>): Record<string, unknown> | undefined {
  const keys = Object.keys(payload);
  if (type === TKAUTH_01) {
    if (keys.length !== 1 || typeof payload.atc !== 'string' || payload.atc.length === 0) throw malformed('respond to tkauth-01 with {"atc": "<token>"}: the workload identity token as a string');
    return { atc: payload.atc };
  }
  if (keys.length !== 0) throw malformed('respond to a challenge with an empty object {}');
  return undefined;
}

/** Settles when `p` does or after `ms`, whichever comes first (p never rejects). */
async function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
