import { isCaError } from '../../domain/errors.ts';
import { generateSerial } from '../../x509/serial.ts';
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
  // The serial is on the order before the key signs: after a crash reconcile.ts links or fails it.
  const serial = generateSerial();
  if (!ctx.store.orders.startIssuing(id, serial)) {
    throw orderNotReady(`the order is ${ctx.store.orders.order(id)?.status ?? order.status}, not ready`);
  }
  ctx.finalizing.add(id);
  try {
    const issued = await ctx.authority.issue(csr, {
      profile: order.profile,
      identifiers: order.identifiers,
      actor: `acme:${account.id}`,
      serial,
    });
    ctx.store.orders.transitionOrder(id, ['processing'], 'valid', { certSerial: issued.serial });
  } catch (e) {
    if (isCaError(e) && CSR_REFUSALS.has(e.kind)) {
      ctx.store.orders.transitionOrder(id, ['processing'], 'ready');
      throw badCsr(e.detail);
    }
    // The CA signs nothing for now (a database that does not match its signed log, #17): the order stays ready for a retry.
    if (isCaError(e, 'unavailable')) {
      ctx.store.orders.transitionOrder(id, ['processing'], 'ready');
      throw e;
    }
    // Signed and recorded, then failed (e.g. after the commit): the certificate is the order's.
    const cert = ctx.certificates.get(serial);
    if (cert?.der && cert.status === 'valid' && ctx.store.orders.transitionOrder(id, ['processing'], 'valid', { certSerial: serial })) {
      ctx.logger.error('acme.finalize.after-issue', { order: id, serial, error: (e as Error).message });
      return orderReply(ctx, ctx.store.orders.order(id)!);
    }
    ctx.store.orders.transitionOrder(id, ['processing'], 'invalid', { error: serverInternal('issuance failed').embedded() });
    throw e;
  } finally {
    ctx.finalizing.delete(id);
  }
  return orderReply(ctx, ctx.store.orders.order(id)!);
}
