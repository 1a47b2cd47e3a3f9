import { ACME_ROUTES, routeEntries, type AcmeRouteName } from './routes.ts';

/** One member per route of the table: a URL, or a function of the route's id. */
type RouteLinks = { [K in AcmeRouteName]: (typeof ACME_ROUTES)[K]['path'] extends `${string}:id${string}` ? (id: string) => string : string };

/** Every ACME URL this server hands out (RFC 8555 §7.1), built from the route table (routes.ts). */
export class AcmeLinks implements RouteLinks {
  /** e.g. https://127.0.0.1:9443 — no trailing slash. */
  readonly origin: string;
  readonly prefix = '/acme';
  /** Per route, the URL before and after its ":id". */
  readonly #parts: Record<AcmeRouteName, readonly [string, string]>;

  constructor(origin: string) {
    this.origin = origin.replace(/\/+$/, '');
    const base = `${this.origin}${this.prefix}/`;
    this.#parts = {} as Record<AcmeRouteName, readonly [string, string]>;
    for (const [name, r] of routeEntries) {
      const [before, after = ''] = r.path.split(':id');
      this.#parts[name] = [base + before!, after];
    }
  }

  /** The URL of a route; `id` fills its ":id" (our ids are path-safe). */
  url(name: AcmeRouteName, id = ''): string {
    const [before, after] = this.#parts[name];
    return before + id + after;
  }

  get directory() { return this.url('directory'); }
  get newNonce() { return this.url('newNonce'); }
  get newAccount() { return this.url('newAccount'); }
  get newOrder() { return this.url('newOrder'); }
  get revokeCert() { return this.url('revokeCert'); }
  get keyChange() { return this.url('keyChange'); }
  get renewalInfo() { return this.url('renewalInfo'); }
  account(id: string) { return this.url('account', id); }
  orders(accountId: string) { return this.url('orders', accountId); }
  order(id: string) { return this.url('order', id); }
  finalize(id: string) { return this.url('finalize', id); }
  authz(id: string) { return this.url('authz', id); }
  challenge(id: string) { return this.url('challenge', id); }
  certificate(serial: string) { return this.url('certificate', serial); }

  /** The account id named by a `kid` (§6.2), or null when the URL is not one of ours. */
  accountIdOf(kid: string): string | null {
    const [base, after] = this.#parts.account;
    if (!kid.startsWith(base) || !kid.endsWith(after)) return null;
    const id = kid.slice(base.length, kid.length - after.length);
    return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
  }

  /** The absolute URL a request to `path` was made to: what a JWS `url` must equal (§6.4). */
  requestUrl(path: string): string {
    return `${this.origin}${path}`;
  }
}
