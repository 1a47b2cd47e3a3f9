import type { RateLimitsConfig } from '../config/rate-limits.ts';

/** How a POST's JWS names its key (RFC 8555 §6.2): its own `jwk`, an account `kid`, or either (revokeCert, §7.6). */
export type KeyMode = 'jwk' | 'kid' | 'either';

export interface AcmeRouteSpec {
  /** The path under /acme/; ":id" stands for one path segment. */
  readonly path: string;
  /** Served to GET and HEAD; every other resource is read with POST-as-GET (§6.3). */
  readonly get?: true;
  /** Served to POST, with a JWS whose key is named so. */
  readonly post?: KeyMode;
  /** Listed in the directory (§7.1.1) under the route's name. */
  readonly inDirectory?: true;
  /** Token bucket per client address, checked before the JWS (whose check costs more). */
  readonly ipLimit?: keyof RateLimitsConfig;
  /** Token bucket per account, checked after the JWS (only a verified kid names an account). */
  readonly accountLimit?: keyof RateLimitsConfig;
  /** RFC 9773 §4.1: the path is a base, the resources are `<path>/<certID>`; the handler reads the id itself. */
  readonly idBelow?: true;
}

/**
 * Every ACME URL this server serves or hands out, by name: the name is the resource in the
 * directory and in the metrics, and the AcmeLinks member that builds the URL (links.ts).
 * Routing (http/acme-https/pipeline.ts), links and the directory all read this table.
 */
export const ACME_ROUTES = {
  directory: { path: 'directory', get: true },
  newNonce: { path: 'new-nonce', get: true, inDirectory: true, ipLimit: 'newNoncePerIp' },
  newAccount: { path: 'new-account', post: 'jwk', inDirectory: true, ipLimit: 'newAccountPerIp' },
  newOrder: { path: 'new-order', post: 'kid', inDirectory: true, accountLimit: 'newOrderPerAccount' },
  revokeCert: { path: 'revoke-cert', post: 'either', inDirectory: true },
  keyChange: { path: 'key-change', post: 'kid', inDirectory: true },
  renewalInfo: { path: 'renewal-info', get: true, inDirectory: true, idBelow: true },
  account: { path: 'account/:id', post: 'kid' },
  orders: { path: 'account/:id/orders', post: 'kid' },
  order: { path: 'order/:id', post: 'kid' },
  finalize: { path: 'order/:id/finalize', post: 'kid', accountLimit: 'finalizePerAccount' },
  authz: { path: 'authz/:id', post: 'kid' },
  challenge: { path: 'challenge/:id', post: 'kid' },
  certificate: { path: 'cert/:id', post: 'kid' },
} as const satisfies Record<string, AcmeRouteSpec>;

export type AcmeRouteName = keyof typeof ACME_ROUTES;
type Spec<K extends AcmeRouteName> = (typeof ACME_ROUTES)[K];
/** The routes served to GET/HEAD, and to POST. */
export type GetRouteName = { [K in AcmeRouteName]: Spec<K> extends { get: true } ? K : never }[AcmeRouteName];
export type PostRouteName = { [K in AcmeRouteName]: Spec<K> extends { post: KeyMode } ? K : never }[AcmeRouteName];

export const routeEntries = Object.entries(ACME_ROUTES) as [AcmeRouteName, AcmeRouteSpec][];

/** Ids this server mints (ids.ts) and certificate serials: anything else cannot name one of ours. */
const OUR_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * A router over the table: `rest` is the path after /acme/. One Map lookup per request (the
 * pipeline's hot path, docs/benchmarks.md): the second segment is the id, and the key is the
 * path with it replaced by ":id".
 */
export function acmeRouter<T>(bind: (name: AcmeRouteName, spec: AcmeRouteSpec) => T): (rest: string) => { route: T; id: string } | null {
  const byKey = new Map<string, { route: T; anyId: boolean }>();
  for (const [name, spec] of routeEntries) byKey.set(spec.idBelow ? `${spec.path}/:id` : spec.path, { route: bind(name, spec), anyId: spec.idBelow === true });
  return (rest) => {
    const parts = rest.split('/');
    if (parts.length === 1) {
      const found = byKey.get(rest);
      return found ? { route: found.route, id: '' } : null;
    }
    const id = parts[1]!;
    parts[1] = ':id';
    const found = byKey.get(parts.join('/'));
    return found && (found.anyId || OUR_ID.test(id)) ? { route: found.route, id } : null;
  };
}
