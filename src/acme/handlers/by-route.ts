import type { AcmeContext, AcmeReply } from '../context.ts';
import type { VerifiedRequest } from '../request.ts';
import type { GetRouteName, PostRouteName } from '../routes.ts';
import { listOrders, newAccount, updateAccount } from './account.ts';
import { postAuthz } from './authz.ts';
import { downloadCertificate } from './certificate.ts';
import { postChallenge } from './challenge.ts';
import { getDirectory } from './directory.ts';
import { finalizeOrder } from './finalize.ts';
import { changeKey } from './key-change.ts';
import { getOrder, newOrder } from './order.ts';
import { getRenewalInfo } from './renewal-info.ts';
import { revokeCertificate } from './revoke.ts';

export type GetHandler = (ctx: AcmeContext, id: string, method: string) => AcmeReply;
export type PostHandler = (ctx: AcmeContext, req: VerifiedRequest, id: string) => AcmeReply | Promise<AcmeReply>;

/** The handler of each GET route of the table (../routes.ts); the compiler holds the two lists equal. */
export const GET_HANDLERS: { [K in GetRouteName]: GetHandler } = {
  directory: getDirectory,
  // §7.2: HEAD → 200, GET → 204.
  newNonce: (_ctx, _id, method) => ({ status: method === 'HEAD' ? 200 : 204 }),
  renewalInfo: getRenewalInfo,
};

/** The handler of each POST route of the table; `id` is the path's ":id" segment. */
export const POST_HANDLERS: { [K in PostRouteName]: PostHandler } = {
  newAccount,
  account: updateAccount,
  orders: listOrders,
  keyChange: changeKey,
  newOrder,
  order: getOrder,
  finalize: finalizeOrder,
  authz: postAuthz,
  challenge: postChallenge,
  certificate: downloadCertificate,
  revokeCert: revokeCertificate,
};
