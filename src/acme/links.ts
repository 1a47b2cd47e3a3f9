/** Every ACME URL this server hands out (RFC 8555 §7.1), built in one place. */
export class AcmeLinks {
  /** e.g. https://127.0.0.1:9443 — no trailing slash. */
  readonly origin: string;
  readonly prefix = '/acme';

  constructor(origin: string) {
    this.origin = origin.replace(/\/+$/, '');
  }

  #u(path: string): string {
    return `${this.origin}${this.prefix}${path}`;
  }

  get directory() { return this.#u('/directory'); }
  get newNonce() { return this.#u('/new-nonce'); }
  get newAccount() { return this.#u('/new-account'); }
  get newOrder() { return this.#u('/new-order'); }
  get revokeCert() { return this.#u('/revoke-cert'); }
  get keyChange() { return this.#u('/key-change'); }
  get renewalInfo() { return this.#u('/renewal-info'); }
  account(id: string) { return this.#u(`/account/${id}`); }
  orders(accountId: string) { return this.#u(`/account/${accountId}/orders`); }
  order(id: string) { return this.#u(`/order/${id}`); }
  finalize(id: string) { return this.#u(`/order/${id}/finalize`); }
  authz(id: string) { return this.#u(`/authz/${id}`); }
  challenge(id: string) { return this.#u(`/challenge/${id}`); }
  certificate(serial: string) { return this.#u(`/cert/${serial}`); }

  /** The account id named by a `kid` (§6.2), or null when the URL is not one of ours. */
  accountIdOf(kid: string): string | null {
    const base = this.#u('/account/');
    if (!kid.startsWith(base)) return null;
    const id = kid.slice(base.length);
    return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
  }

  /** The absolute URL a request to `path` was made to: what a JWS `url` must equal (§6.4). */
  requestUrl(path: string): string {
    return `${this.origin}${path}`;
  }
}
