import type { AcmeContext, AcmeReply } from '../context.ts';
import { malformed, unauthorized } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { authzJson } from '../wire.ts';
import { ownedAuthz } from './common.ts';

/** POST-as-GET on an authorization, or deactivation with {"status": "deactivated"} (§7.5, §7.5.2). */
export function postAuthz(ctx: AcmeContext, req: VerifiedRequest, id: string): AcmeReply {
  const account = requireAccount(req);
  let authz = ownedAuthz(ctx, account, id);
  const p = req.payload;
  if (p) {
    if (p.status !== 'deactivated') throw malformed('the only change a client may make to an authorization is {"status": "deactivated"}');
    ctx.store.transaction(() => {
      if (!ctx.store.orders.transitionAuthz(id, ['pending', 'valid'], 'deactivated')) throw malformed(`an authorization that is ${authz.status} cannot be deactivated`);
      // An order whose authorization is gone can no longer be finalized (§7.1.6).
      ctx.store.orders.transitionOrder(authz.orderId, ['pending', 'ready'], 'invalid', {
        error: unauthorized(`authorization for ${authz.identifier.value} was deactivated`).embedded(),
      });
    });
    authz = ctx.store.orders.authz(id)!;
  }
  return {
    status: 200,
    json: authzJson(authz, ctx.store.orders.challengesOf(id), ctx.links),
    ...(authz.status === 'pending' ? { retryAfterS: ctx.settings.retryAfterS } : {}),
  };
}
