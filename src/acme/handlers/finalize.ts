import { isCaError } from '../../domain/errors.ts';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { refuseAccountKeyCsr } from '../csr-account-key.ts';
import { badCsr, malformed, orderNotReady, serverInternal } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { orderReply, ownedOrder, requireLiveBinding } from './common.ts';

/** Refusals of the CSR itself: the order goes back to `ready` so the client may send a better one. */
const CSR_REFUSALS = new Set(['badCsr', 'badKey', 'rejectedIdentifier']);

/**
 * POST finalize (§7.4): only a `ready` order; the ready → processing compare-and-set
 * lets exactly one of several concurrent or repeated requests issue a certificate.
 */
export async function finalizeOrder(ctx: AcmeContext, req: VerifiedRequest, id: string): Promise<AcmeReply> {
  const account = requireAccount(req);
  const order = ownedOrder(ctx, account, id);
  requireLiveBinding(ctx, account);
  const csrText = req.payload?.csr;
  if (typeof csrText !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrText)) throw malformed('"csr" must be the base64url DER of a PKCS#10 request');
  const csr = new Uint8Array(Buffer.from(csrText, 'base64url'));
  if (order.status !== 'ready') throw orderNotReady(`the order is ${order.status}, not ready`);
  await refuseAccountKeyCsr(ctx.store, csr);
  if (!ctx.store.orders.transitionOrder(id, ['ready'], 'processing')) {
    throw orderNotReady(`the order is ${ctx.store.orders.order(id)?.status ?? order.status}, not ready`);
  }
  try {
    const issued = await ctx.authority.issue(csr, {
      profile: order.profile,
      identifiers: order.identifiers,
      actor: `acme:${account.id}`,
    });
    ctx.store.orders.transitionOrder(id, ['processing'], 'valid', { certSerial: issued.serial });
  } catch (e) {
    if (isCaError(e) && CSR_REFUSALS.has(e.kind)) {
      ctx.store.orders.transitionOrder(id, ['processing'], 'ready');
      throw badCsr(e.detail);
    }
    ctx.store.orders.transitionOrder(id, ['processing'], 'invalid', { error: serverInternal('issuance failed').embedded() });
    throw e;
  }
  return orderReply(ctx, ctx.store.orders.order(id)!);
}
