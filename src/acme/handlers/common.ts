import type { AccountRecord, AuthzRecord, EabKeyRecord, OrderRecord } from '../../store/acme-records.ts';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { malformed, notFound, unauthorized } from '../problems.ts';
import { checkBinding } from '../binding.ts';
import { orderJson } from '../wire.ts';

/**
 * Loads an order the account owns (§7.1: an account sees only its own objects),
 * applying expiry lazily: a pending or ready order past `expires` becomes invalid (§7.1.6).
 */
export function ownedOrder(ctx: AcmeContext, account: AccountRecord, id: string): OrderRecord {
  const order = ctx.store.orders.order(id);
  if (!order) throw notFound(`no order ${id}`);
  if (order.accountId !== account.id) throw unauthorized('this order belongs to another account');
  return expireOrder(ctx, order);
}

export function expireOrder(ctx: AcmeContext, order: OrderRecord): OrderRecord {
  if ((order.status === 'pending' || order.status === 'ready') && order.expiresAt.getTime() <= ctx.clock.now().getTime()) {
    ctx.store.orders.transitionOrder(order.id, ['pending', 'ready'], 'invalid', { error: malformed('the order expired').embedded() });
    return ctx.store.orders.order(order.id)!;
  }
  return order;
}

export function ownedAuthz(ctx: AcmeContext, account: AccountRecord, id: string): AuthzRecord {
  const authz = ctx.store.orders.authz(id);
  if (!authz) throw notFound(`no authorization ${id}`);
  if (authz.accountId !== account.id) throw unauthorized('this authorization belongs to another account');
  if ((authz.status === 'pending' || authz.status === 'valid') && authz.expiresAt.getTime() <= ctx.clock.now().getTime()) {
    ctx.store.orders.transitionAuthz(authz.id, ['pending', 'valid'], 'expired');
    return ctx.store.orders.authz(id)!;
  }
  return authz;
}

/** An order as the client sees it, with Retry-After while there is something to wait for (§8.2). */
export function orderReply(ctx: AcmeContext, order: OrderRecord, status = 200): AcmeReply {
  const authzIds = ctx.store.orders.authzsOf(order.id).map((a) => a.id);
  return {
    status,
    json: orderJson(order, authzIds, ctx.links),
    location: ctx.links.order(order.id),
    ...(order.status === 'pending' || order.status === 'processing' ? { retryAfterS: ctx.settings.retryAfterS } : {}),
  };
}

/** The account's EAB binding must still stand (binding.ts); returns the key (its scopes), or null for an account without one. */
export function requireLiveBinding(ctx: AcmeContext, account: AccountRecord): EabKeyRecord | null {
  const r = checkBinding(ctx.store, account);
  if (r.refusal) throw r.refusal;
  return r.key;
}
