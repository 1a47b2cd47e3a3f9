import type { AcmeContext, AcmeReply } from '../context.ts';

/** RFC 8555 §7.1.1 directory, with ARI (RFC 9773 §3) and profiles (draft-aaron-acme-profiles) in meta. */
export function getDirectory(ctx: AcmeContext): AcmeReply {
  const l = ctx.links;
  const profiles = Object.fromEntries(Object.values(ctx.authority.profiles).map((p) => [p.name, p.description]));
  return {
    status: 200,
    json: {
      newNonce: l.newNonce,
      newAccount: l.newAccount,
      newOrder: l.newOrder,
      revokeCert: l.revokeCert,
      keyChange: l.keyChange,
      renewalInfo: l.renewalInfo,
      meta: {
        externalAccountRequired: ctx.settings.requireEab,
        ...(ctx.settings.website ? { website: ctx.settings.website } : {}),
        profiles,
      },
    },
  };
}
