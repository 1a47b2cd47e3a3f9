import type { AcmeContext, AcmeReply } from '../context.ts';
import { routeEntries } from '../routes.ts';

const LISTED = routeEntries.filter(([, r]) => r.inDirectory).map(([name]) => name);

/** RFC 8555 §7.1.1 directory, with ARI (RFC 9773 §3) and profiles (draft-aaron-acme-profiles) in meta. */
export function getDirectory(ctx: AcmeContext): AcmeReply {
  const profiles = Object.fromEntries(Object.values(ctx.authority.profiles).map((p) => [p.name, p.description]));
  return {
    status: 200,
    json: {
      ...Object.fromEntries(LISTED.map((name) => [name, ctx.links.url(name)])),
      meta: {
        externalAccountRequired: ctx.settings.requireEab,
        ...(ctx.settings.website ? { website: ctx.settings.website } : {}),
        profiles,
      },
    },
  };
}
