import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';

/**
 * A small ACME client for the operations tests: raw access to every response (status,
 * headers, problem type) so tests can see rate limits, and a complete http-01 order.
 * Signing is synchronous node:crypto ES256; nonces are recycled from every response.
 */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class LeanAcme {
  readonly #agent: Agent;
  readonly #key: KeyObject;
  readonly #jwk: Record<string, string>;
  readonly thumbprint: string;
  readonly #nonces: string[] = [];
  dir: Record<string, string> = {};
  kid = '';

  constructor(readonly directoryUrl: string, caPem: string, o: { timeoutMs?: number } = {}) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: 4, ca: caPem, timeout: o.timeoutMs ?? 15_000 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = privateKey;
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
    this.#jwk = { crv: jwk.crv!, kty: jwk.kty!, x: jwk.x!, y: jwk.y! };
    this.thumbprint = createHash('sha256').update(JSON.stringify(this.#jwk)).digest('base64url');
  }

  http(method: string, url: string, body?: string): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.#agent, headers: body ? { 'Content-Type': 'application/jose+json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const nonce = res.headers['replay-nonce'];
          if (typeof nonce === 'string') this.#nonces.push(nonce);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }

  async directory(): Promise<Record<string, string>> {
    this.dir = JSON.parse((await this.http('GET', this.directoryUrl)).body) as Record<string, string>;
    return this.dir;
  }

  async newNonce(): Promise<RawResponse> {
    return this.http('HEAD', this.dir.newNonce!);
  }

  /** newAccount with this client's key; returns the raw response (kid is set on success). */
  async newAccount(): Promise<RawResponse> {
    if (!this.dir.newAccount) await this.directory();
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

  /** A signed POST (`payload` '' = POST-as-GET), retried once on badNonce (RFC 8555 §6.5). */
  async post(url: string, payload: unknown, useJwk = false, retried = false): Promise<RawResponse> {
    const header = { alg: 'ES256', nonce: await this.#nonce(), url, ...(useJwk ? { jwk: this.#jwk } : { kid: this.kid }) };
    const p = Buffer.from(JSON.stringify(header)).toString('base64url');
    const b = payload === '' ? '' : Buffer.from(JSON.stringify(payload)).toString('base64url');
    const signature = sign('sha256', Buffer.from(`${p}.${b}`), { key: this.#key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    const r = await this.http('POST', url, JSON.stringify({ protected: p, payload: b, signature }));
    if (!retried && r.status === 400 && problemType(r) === 'badNonce') return this.post(url, payload, useJwk, true);
    return r;
  }

  async newOrder(name: string): Promise<RawResponse> {
    return this.post(this.dir.newOrder!, { identifiers: [{ type: 'dns', value: name }] });
  }

  async #poll(url: string, done: (s: string) => boolean): Promise<Record<string, unknown>> {
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      const r = await this.post(url, '');
      if (r.status !== 200) throw new Error(`poll ${url}: ${r.status} ${r.body}`);
      const obj = JSON.parse(r.body) as Record<string, unknown>;
      if (done(obj.status as string)) return obj;
      if (obj.status === 'invalid') throw new Error(`${url} became invalid: ${JSON.stringify(obj.error ?? obj)}`);
      await new Promise((res) => setTimeout(res, delay));
    }
  }

  /** newOrder → http-01 → finalize → download; returns the PEM chain the server handed out. */
  async order(name: string, csrDer: Uint8Array, serveToken: (token: string, keyAuth: string) => void): Promise<string> {
    const o = await this.newOrder(name);
    if (o.status !== 201) throw new Error(`newOrder: ${o.status} ${o.body}`);
    const orderUrl = o.headers.location as string;
    const order = JSON.parse(o.body) as { authorizations: string[]; finalize: string };
    const authz = JSON.parse((await this.post(order.authorizations[0]!, '')).body) as { challenges: { type: string; url: string; token: string }[] };
    const ch = authz.challenges.find((c) => c.type === 'http-01')!;
    serveToken(ch.token, `${ch.token}.${this.thumbprint}`);
    await this.post(ch.url, {});
    await this.#poll(orderUrl, (s) => s === 'ready');
    const fin = await this.post(order.finalize, { csr: Buffer.from(csrDer).toString('base64url') });
    if (fin.status !== 200) throw new Error(`finalize: ${fin.status} ${fin.body}`);
    let done = JSON.parse(fin.body) as Record<string, unknown>;
    if (done.status !== 'valid') done = await this.#poll(orderUrl, (s) => s === 'valid');
    const cert = await this.post(done.certificate as string, '');
    if (cert.status !== 200 || !cert.body.includes('BEGIN CERTIFICATE')) throw new Error(`download: ${cert.status} ${cert.body}`);
    return cert.body;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** The short ACME problem type of a response ("rateLimited"), or null. */
export function problemType(r: RawResponse): string | null {
  try {
    const t = (JSON.parse(r.body) as { type?: unknown }).type;
    return typeof t === 'string' ? t.replace('urn:ietf:params:acme:error:', '') : null;
  } catch {
    return null;
  }
}
