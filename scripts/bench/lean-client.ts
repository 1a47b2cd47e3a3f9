import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:https';

/**
 * A deliberately lean ACME client for load generation: one account, keep-alive,
 * synchronous ES256 signing with node:crypto, nonces recycled from every response,
 * no sleeps beyond a short poll backoff. It measures the server, not itself.
 */
export interface LeanResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class LeanAcmeClient {
  readonly #agent: Agent;
  readonly #key: KeyObject;
  readonly #jwk: Record<string, string>;
  readonly thumbprint: string;
  readonly #nonces: string[] = [];
  dir!: Record<string, string>;
  kid = '';
  /** Problems seen, by type; 5xx responses counted separately. */
  readonly problems = new Map<string, number>();
  serverErrors = 0;
  /** HTTP requests sent (to compare how many each server needs per order). */
  requests = 0;

  constructor(caPem: string, sockets: number) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: caPem });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
    this.#jwk = { crv: jwk.crv!, kty: jwk.kty!, x: jwk.x!, y: jwk.y! };
    this.thumbprint = createHash('sha256').update(JSON.stringify(this.#jwk)).digest('base64url');
  }

  http(method: string, url: string, body?: string): Promise<LeanResponse> {
    this.requests++;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.#agent, headers: body ? { 'Content-Type': 'application/jose+json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const nonce = res.headers['replay-nonce'];
          if (typeof nonce === 'string') this.#nonces.push(nonce);
          if ((res.statusCode ?? 0) >= 500) this.serverErrors++;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async start(directoryUrl: string): Promise<void> {
    this.dir = JSON.parse((await this.http('GET', directoryUrl)).body.toString()) as Record<string, string>;
    const r = await this.post(this.dir.newAccount!, { termsOfServiceAgreed: true }, true);
    if (r.status !== 201 && r.status !== 200) throw new Error(`newAccount: ${r.status} ${r.body}`);
    this.kid = r.headers.location as string;
  }

  async #nonce(): Promise<string> {
    const n = this.#nonces.pop();
    if (n) return n;
    await this.http('HEAD', this.dir.newNonce!);
    return this.#nonces.pop()!;
  }

  /** A signed POST (`payload` '' = POST-as-GET), retried once on badNonce as RFC 8555 §6.5 allows. */
  async post(url: string, payload: unknown, useJwk = false, retried = false): Promise<LeanResponse> {
    const header = { alg: 'ES256', nonce: await this.#nonce(), url, ...(useJwk ? { jwk: this.#jwk } : { kid: this.kid }) };
    const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
    const payloadB64 = payload === '' ? '' : Buffer.from(JSON.stringify(payload)).toString('base64url');
    const signature = sign('sha256', Buffer.from(`${protectedB64}.${payloadB64}`), { key: this.#key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    const r = await this.http('POST', url, JSON.stringify({ protected: protectedB64, payload: payloadB64, signature }));
    if (r.status >= 400) {
      const type = (JSON.parse(r.body.toString() || '{}') as { type?: string }).type ?? `HTTP ${r.status}`;
      this.problems.set(type, (this.problems.get(type) ?? 0) + 1);
      if (type.endsWith(':badNonce') && !retried) return this.post(url, payload, useJwk, true);
    }
    return r;
  }

  /** POST-as-GET until `done(status)` holds; backoff from 2 ms, capped at 50 ms. */
  async pollUntil(url: string, done: (status: string) => boolean): Promise<Record<string, unknown>> {
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const obj = JSON.parse((await this.post(url, '')).body.toString()) as Record<string, unknown>;
      if (done(obj.status as string)) return obj;
      if (obj.status === 'invalid') throw new Error(`${url} became invalid: ${JSON.stringify(obj.error ?? obj)}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** One complete order: newOrder → http-01 (validated for real by the server) → finalize → download. */
  async order(name: string, csrB64: string, serveToken: (token: string, keyAuth: string) => void): Promise<void> {
    const o = await this.post(this.dir.newOrder!, { identifiers: [{ type: 'dns', value: name }] });
    if (o.status !== 201) throw new Error(`newOrder: ${o.status} ${o.body}`);
    const orderUrl = o.headers.location as string;
    const order = JSON.parse(o.body.toString()) as { authorizations: string[]; finalize: string };
    const authz = JSON.parse((await this.post(order.authorizations[0]!, '')).body.toString()) as { challenges: { type: string; url: string; token: string }[] };
    const ch = authz.challenges.find((c) => c.type === 'http-01')!;
    serveToken(ch.token, `${ch.token}.${this.thumbprint}`);
    await this.post(ch.url, {});
    await this.pollUntil(orderUrl, (s) => s === 'ready');
    const fin = await this.post(order.finalize, { csr: csrB64 });
    if (fin.status !== 200) throw new Error(`finalize: ${fin.status} ${fin.body}`);
    const done = (JSON.parse(fin.body.toString()) as { status: string }).status === 'valid' ? (JSON.parse(fin.body.toString()) as Record<string, unknown>) : await this.pollUntil(orderUrl, (s) => s === 'valid');
    const cert = await this.post(done.certificate as string, '');
    if (cert.status !== 200 || !cert.body.includes('BEGIN CERTIFICATE')) throw new Error(`download: ${cert.status}`);
  }

  close(): void {
    this.#agent.destroy();
  }
}
