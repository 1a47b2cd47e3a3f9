import { Agent, request } from 'node:https';
import acme from 'acme-client';
import { CaError } from '../domain/errors.ts';
import { x509 } from '../x509/x509.ts';
import type { Identifier } from '../domain/types.ts';
import type { ChallengeSolver } from './solvers.ts';

/**
 * The protocol side of enrollment, on the npm `acme-client` library: account,
 * order, challenges, finalize, download. Only what the library lacks is here:
 * pinning our root for TLS, and ARI (RFC 9773) look-ups.
 */
export interface AcmeSessionOptions {
  server: string;
  rootPem: string;
  accountKeyPem: string;
  accountUrl?: string;
  eab?: { kid: string; hmacKey: string };
}

export class AcmeSession {
  readonly #client: acme.Client;
  readonly #o: AcmeSessionOptions;

  constructor(o: AcmeSessionOptions) {
    this.#o = o;
    // Trust exactly our root for the ACME server's TLS certificate.
    acme.axios.defaults.httpsAgent = new Agent({ ca: o.rootPem, keepAlive: false });
    acme.axios.defaults.timeout = 30_000;
    // The library's default (5 retries, 5 s × attempt) keeps a cron run waiting over a minute
    // for a server that is down, then fails with an unhelpful TypeError.
    Object.assign((acme.axios.defaults as unknown as { acmeSettings: Record<string, number> }).acmeSettings, { retryMaxAttempts: 2, retryDefaultDelay: 1 });
    this.#client = new acme.Client({
      directoryUrl: o.server,
      accountKey: o.accountKeyPem,
      accountUrl: o.accountUrl,
      externalAccountBinding: o.eab,
      backoffAttempts: 20,
      backoffMin: 200,
      backoffMax: 2000,
    });
  }

  /** Fails fast, with a one-line reason, when the directory cannot be reached or its TLS does not chain to our root. */
  async probe(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const req = request(this.#o.server, { method: 'GET', ca: this.#o.rootPem, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new CaError('refused', `the ACME directory ${this.#o.server} answered HTTP ${res.statusCode}`)),
        );
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    }).catch((e: unknown) => wrap(() => Promise.reject(e), 'directory'));
  }

  /** Creates the account (or finds the existing one for this key); returns its URL. */
  async ensureAccount(): Promise<string> {
    await this.probe();
    await wrap(() => this.#client.createAccount({ termsOfServiceAgreed: true }), 'account');
    return this.#client.getAccountUrl();
  }

  /** Orders a certificate for `identifiers`, answers each challenge with `solver`, finalizes with `csrPem`. */
  async obtainCertificate(p: { identifiers: Identifier[]; csrPem: string; solver: ChallengeSolver; profile?: string }): Promise<string> {
    const request = { identifiers: p.identifiers, ...(p.profile ? { profile: p.profile } : {}) };
    const order = await wrap(() => this.#client.createOrder(request as Parameters<acme.Client['createOrder']>[0]), 'order');
    const authzs = await wrap(() => this.#client.getAuthorizations(order), 'authorizations');
    try {
      for (const authz of authzs) {
        if (authz.status === 'valid') continue;
        const challenge = authz.challenges.find((c) => c.type === p.solver.type);
        if (!challenge) {
          throw new CaError('refused', `the server offers no ${p.solver.type} challenge for ${authz.identifier.value} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`);
        }
        const keyAuthorization = await this.#keyAuthorization(challenge);
        const task = { identifier: authz.identifier, token: 'token' in challenge ? challenge.token : '', keyAuthorization, authz };
        await p.solver.present(task);
        try {
          const payload = (await p.solver.response?.(task)) ?? {};
          // acme-client answers every challenge with {}; tkauth-01 carries the token (RFC 9447 §4).
          const api = (this.#client as unknown as { api: { completeChallenge(url: string, data: unknown): Promise<unknown> } }).api;
          await wrap(() => api.completeChallenge(challenge.url, payload), 'challenge');
          await wrap(() => this.#client.waitForValidStatus(challenge), `validation of ${authz.identifier.value}`);
        } finally {
          await p.solver.cleanup(task);
        }
      }
    } finally {
      await p.solver.close();
    }
    const finalized = await wrap(() => this.#client.finalizeOrder(order, p.csrPem), 'finalize');
    const valid = await wrap(() => this.#client.waitForValidStatus(finalized), 'order');
    return wrap(() => this.#client.getCertificate(valid), 'certificate download');
  }

  /**
   * The key authorization of RFC 8555 §8.1 (token "." thumbprint) whatever the challenge type.
   * acme-client returns it for http-01 and tls-alpn-01 but, for dns-01, already the TXT digest of
   * §8.4; the solvers derive their answer from the plain form, so it is asked for in that form.
   */
  #keyAuthorization(challenge: acme.Authorization['challenges'][number]): Promise<string> {
    return this.#client.getChallengeKeyAuthorization({ ...challenge, type: 'http-01' } as typeof challenge);
  }

  /**
   * RFC 9773: the server's suggested renewal window for a certificate, or null if it has no
   * renewalInfo; `retryAfterMs` is when to ask again (§4.3: Retry-After, 6 h when absent, at most 24 h).
   */
  async renewalWindow(certPem: string): Promise<{ start: Date; end: Date; retryAfterMs: number } | null> {
    const dir = (await wrap(() => acme.axios.get(this.#o.server), 'directory')).data as { renewalInfo?: string };
    if (!dir.renewalInfo) return null;
    const res = await acme.axios.get(`${dir.renewalInfo.replace(/\/$/, '')}/${ariCertId(certPem)}`, { validateStatus: () => true });
    if (res.status !== 200) return null;
    const w = (res.data as { suggestedWindow?: { start: string; end: string } }).suggestedWindow;
    return w ? { start: new Date(w.start), end: new Date(w.end), retryAfterMs: retryAfterMs(res.headers['retry-after']) } : null;
  }
}

const HOUR = 3_600_000;

/** Retry-After (RFC 9110 §10.2.3: seconds or an HTTP-date) as a delay, per RFC 9773 §4.3: 6 h when absent or bad, clamped to [0, 24 h]. */
export function retryAfterMs(header: unknown, now = Date.now()): number {
  const text = typeof header === 'string' ? header.trim() : '';
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : text ? Date.parse(text) - now : NaN;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 24 * HOUR) : 6 * HOUR;
}

/** RFC 9773 §4.1 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial DER contents). */
export function ariCertId(certPem: string): string {
  const cert = new x509.X509Certificate(certPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) throw new CaError('malformed', 'the certificate has no authority key identifier');
  let serial = cert.serialNumber.toLowerCase();
  if (serial.length % 2) serial = '0' + serial;
  if (parseInt(serial.slice(0, 2), 16) >= 0x80) serial = '00' + serial;
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`;
}

/** Turns library and network errors into one-line CaErrors naming the step. */
async function wrap<T>(fn: () => Promise<T>, step: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CaError) throw e;
    const err = e as Error & { code?: string };
    if (err.code && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN|EHOSTUNREACH)$/.test(err.code)) {
      throw new CaError('unavailable', `cannot reach the ACME server (${err.code}) during ${step}`);
    }
    if (err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(err.code)) {
      throw new CaError('unauthorized', `the ACME server's TLS certificate does not chain to the trusted root (${err.code})`);
    }
    throw new CaError('refused', `${step} failed: ${err.message}`);
  }
}
