import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';

/**
 * A deliberately lean ACME client, one account per instance: keep-alive, synchronous ES256
 * signing with node:crypto, nonces recycled from every response, no sleeps beyond a short
 * poll backoff. It is the load generator of scripts/bench-acme.ts (it measures the server,
 * not itself: `requests`, `problems` and `serverErrors` count what each order cost) and the
 * ACME client of the operations and crash tests, which read every raw response (status,
 * headers, problem type) to see rate limits and what a killed server left behind.
 */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class LeanAcmeClient {
  readonly #agent: Agent;
  readonly #key: KeyObject;
  readonly #jwk: Record<string, string>;
  readonly thumbprint: string;
  readonly #nonces: string[] = [];
  dir: Record<string, string> = {};
  kid = '';
  /** Problems seen, by full type (`urn:ietf:params:acme:error:badNonce`); 5xx responses counted separately. */
  readonly problems = new Map<string, number>();
  serverErrors = 0;
  /** HTTP requests sent (to compare how many each server needs per order). */
  requests = 0;

  /** `sockets`: the keep-alive pool's size (the benchmark's concurrency); `timeoutMs`: a socket idle this long fails its request. */
  constructor(caPem: string, sockets = 4, o: { timeoutMs?: number } = {}) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: caPem, timeout: o.timeoutMs ?? 15_000 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = privateKey;
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
    this.#jwk = { crv: jwk.crv!, kty: jwk.kty!, x: jwk.x!, y: jwk.y! };
    this.thumbprint = createHash('sha256').update(JSON.stringify(this.#jwk)).digest('base64url');
  }

  http(method: string, url: string, body?: string): Promise<RawResponse> {
    this.requests++;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.#agent, headers: body ? { 'Content-Type': 'application/jose+json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const nonce = res.headers['replay-nonce'];
          if (typeof nonce === 'string') this.#nonces.push(nonce);
          if ((res.statusCode ?? 0) >= 500) this.serverErrors++;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** GETs the directory at `url` and keeps it in `dir`. */
  async directory(url: string): Promise<Record<string, string>> {
    this.dir = JSON.parse((await this.http('GET', url)).body) as Record<string, string>;
    return this.dir;
  }

  /** The directory, then an account: throws unless the server made one. */
  async start(directoryUrl: string): Promise<void> {
    await this.directory(directoryUrl);
    const r = await this.newAccount();
    if (r.status !== 201 && r.status !== 200) throw new Error(`newAccount: ${r.status} ${r.body}`);
  }

  newNonce(): Promise<RawResponse> {
    return this.http('HEAD', this.dir.newNonce!);
  }

  /** newAccount with this client's key; returns the raw response (kid is set on success). */
  async newAccount(): Promise<RawResponse> {
    const r = await this.post(this.dir.newAccount!, { termsOfServiceAgreed: true }, true);
    if (r.status === 201 || r.status === 200) this.kid = r.headers.location as string;
    return r;
  }

  async #nonce(): Promise<string> {
    const n = this.#nonces.pop();
    if (n) return n;
    await this.newNonce();
    const m = this.#nonces.pop();
    if (!m) throw new Error('no nonce');
    return m;
  }

  /** A signed POST (`payload` '' = POST-as-GET), retried once on badNonce as RFC 8555 §6.5 allows. */
  async post(url: string, payload: unknown, useJwk = false, retried = false): Promise<RawResponse> {
    const header = { alg: 'ES256', nonce: await this.#nonce(), url, ...(useJwk ? { jwk: this.#jwk } : { kid: this.kid }) };
    const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
    const payloadB64 = payload === '' ? '' : Buffer.from(JSON.stringify(payload)).toString('base64url');
    const signature = sign('sha256', Buffer.from(`${protectedB64}.${payloadB64}`), { key: this.#key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    const r = await this.http('POST', url, JSON.stringify({ protected: protectedB64, payload: payloadB64, signature }));
    if (r.status >= 400) {
      const type = fullProblemType(r) ?? `HTTP ${r.status}`;
      this.problems.set(type, (this.problems.get(type) ?? 0) + 1);
      if (type.endsWith(':badNonce') && !retried) return this.post(url, payload, useJwk, true);
    }
    return r;
  }

  newOrder(name: string): Promise<RawResponse> {
    return this.post(this.dir.newOrder!, { identifiers: [{ type: 'dns', value: name }] });
  }

  /** POST-as-GET until `done(status)` holds; backoff from 2 ms, capped at 50 ms. */
  async pollUntil(url: string, done: (status: string) => boolean): Promise<Record<string, unknown>> {
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const r = await this.post(url, '');
      if (r.status !== 200) throw new Error(`poll ${url}: ${r.status} ${r.body}`);
      const obj = JSON.parse(r.body) as Record<string, unknown>;
      if (done(obj.status as string)) return obj;
      if (obj.status === 'invalid') throw new Error(`${url} became invalid: ${JSON.stringify(obj.error ?? obj)}`);
      await new Promise((res) => setTimeout(res, delay));
    }
  }

  /**
   * One complete order: newOrder → http-01 (validated for real by the server) → finalize →
   * download. `csr` is DER, or already base64url (the benchmark encodes outside its timing).
   * Returns the PEM chain the server handed out.
   */
  async order(name: string, csr: Uint8Array | string, serveToken: (token: string, keyAuth: string) => void): Promise<string> {
    const o = await this.newOrder(name);
    if (o.status !== 201) throw new Error(`newOrder: ${o.status} ${o.body}`);
    const orderUrl = o.headers.location as string;
    const order = JSON.parse(o.body) as { authorizations: string[]; finalize: string };
    const authz = JSON.parse((await this.post(order.authorizations[0]!, '')).body) as { challenges: { type: string; url: string; token: string }[] };
    const ch = authz.challenges.find((c) => c.type === 'http-01')!;
    serveToken(ch.token, `${ch.token}.${this.thumbprint}`);
    await this.post(ch.url, {});
    await this.pollUntil(orderUrl, (s) => s === 'ready');
    const fin = await this.post(order.finalize, { csr: typeof csr === 'string' ? csr : Buffer.from(csr).toString('base64url') });
    if (fin.status !== 200) throw new Error(`finalize: ${fin.status} ${fin.body}`);
    let done = JSON.parse(fin.body) as Record<string, unknown>;
    if (done.status !== 'valid') done = await this.pollUntil(orderUrl, (s) => s === 'valid');
    const cert = await this.post(done.certificate as string, '');
    if (cert.status !== 200 || !cert.body.includes('BEGIN CERTIFICATE')) throw new Error(`download: ${cert.status} ${cert.body}`);
    return cert.body;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** The ACME problem type of a response as the server wrote it, or null when the body is no problem document. */
function fullProblemType(r: RawResponse): string | null {
  try {
    const t = (JSON.parse(r.body) as { type?: unknown }).type;
    return typeof t === 'string' ? t : null;
  } catch {
    return null;
  }
}

/** The short ACME problem type of a response ("rateLimited"), or null. */
export function problemType(r: RawResponse): string | null {
  return fullProblemType(r)?.replace('urn:ietf:params:acme:error:', '') ?? null;
}
