import type { MiddlewareHandler } from 'hono';
import { ACME_ERROR } from '../../acme/problems.ts';
import { silentLogger } from '../../log.ts';
import type { CaMetrics } from '../../metrics/metrics.ts';
import { toProblem } from '../problem.ts';

/** ACME resources by the first path segment after /acme/ (RFC 8555 §7.1 names). */
const RESOURCES: Record<string, string> = {
  directory: 'directory',
  'new-nonce': 'newNonce',
  'new-account': 'newAccount',
  account: 'account',
  'key-change': 'keyChange',
  'new-order': 'newOrder',
  order: 'order',
  authz: 'authz',
  challenge: 'challenge',
  cert: 'certificate',
  'revoke-cert': 'revokeCert',
  'renewal-info': 'renewalInfo',
};

/** The resource a path names, from a fixed set (never the path itself: ids would make unbounded series). */
export function acmeResourceOf(path: string): string {
  if (!path.startsWith('/acme/')) return path.startsWith('/ca/') ? 'caCertificates' : 'other';
  const rest = path.slice(6);
  const slash = rest.indexOf('/');
  const first = slash === -1 ? rest : rest.slice(0, slash);
  const r = RESOURCES[first];
  if (!r) return 'other';
  if (r === 'order' && path.endsWith('/finalize')) return 'finalize';
  if (r === 'account' && path.endsWith('/orders')) return 'orders';
  return r;
}

/** Counts every ACME request by resource and problem type (`pki_acme_requests_total`); "none" on success. */
export function acmeMetrics(metrics: CaMetrics): MiddlewareHandler {
  // Bound children by "resource problem": after the first request of a kind, counting is a Map hit and an add.
  const children = new Map<string, { inc(): void }>();
  return async (c, next) => {
    await next();
    let problem = 'none';
    if (c.error) problem = toProblem(c.error, silentLogger).type;
    else if (c.res.status >= 400) problem = c.res.status >= 500 ? 'serverInternal' : 'malformed';
    if (problem.startsWith(ACME_ERROR)) problem = problem.slice(ACME_ERROR.length);
    const resource = acmeResourceOf(c.req.path);
    const key = `${resource} ${problem}`;
    let child = children.get(key);
    if (!child) children.set(key, (child = metrics.acmeRequests.labels({ resource, problem })));
    child.inc();
  };
}
