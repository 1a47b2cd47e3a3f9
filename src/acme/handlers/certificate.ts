import { toPem } from '../../x509/x509.ts';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { notFound, unauthorized } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { requireLiveBinding } from './common.ts';

/** POST-as-GET certificate download (§7.4.2): leaf then intermediate, application/pem-certificate-chain. */
export function downloadCertificate(ctx: AcmeContext, req: VerifiedRequest, serial: string): AcmeReply {
  const account = requireAccount(req);
  const order = ctx.store.orders.orderByCertificate(serial);
  const cert = ctx.certificates.get(serial);
  if (!order || !cert?.der) throw notFound(`no certificate ${serial}`);
  if (order.accountId !== account.id) throw unauthorized('this certificate belongs to another account');
  requireLiveBinding(ctx, account);
  return { status: 200, pem: toPem(cert.der, 'CERTIFICATE') + ctx.intermediatePem };
}
