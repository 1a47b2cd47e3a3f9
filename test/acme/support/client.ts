import { exportJWK, FlattenedSign, generateKeyPair, type JWK } from 'jose';
import type { AcmeFetchApp } from '../../../src/http/acme-https/fetch-app.ts';

export interface AccountKey {
  alg: 'ES256' | 'ES384' | 'RS256' | 'EdDSA';
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function newAccountKey(alg: AccountKey['alg'] = 'ES256'): Promise<AccountKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, privateKey: privateKey as CryptoKey, jwk: await exportJWK(publicKey) };
}

export interface SignOptions {
  key: AccountKey;
  /** Sign with kid (the account URL) instead of jwk. */
  kid?: string;
  nonce?: string;
  /** Override or add protected header fields (adversarial tests). */
  header?: Record<string, unknown>;
}

/** A flattened JWS as RFC 8555 §6.2 wants it; `payload` '' is POST-as-GET. */
export async function signJws(url: string, payload: unknown, o: SignOptions & { nonce: string }): Promise<Record<string, string>> {
  const bytes = payload === '' ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
  const header = { alg: o.key.alg, url, nonce: o.nonce, ...(o.kid ? { kid: o.kid } : { jwk: o.key.jwk }), ...o.header };
  for (const [k, v] of Object.entries(header)) if (v === undefined) delete (header as Record<string, unknown>)[k];
  return (await new FlattenedSign(bytes).setProtectedHeader(header as { alg: string }).sign(o.key.privateKey)) as unknown as Record<string, string>;
}

/** Drives the ACME app in-process (no TLS), the way a client would over HTTPS. */
export class TestClient {
  readonly app: AcmeFetchApp;
  readonly directoryUrl: string;
  constructor(app: AcmeFetchApp, directoryUrl: string) {
    this.app = app;
    this.directoryUrl = directoryUrl;
  }

  fetch(url: string, init: RequestInit = {}): Promise<Response> {
    return this.app.fetch(new Request(url, init));
  }

  async directory(): Promise<Record<string, string> & { meta: Record<string, unknown> }> {
    return (await (await this.fetch(this.directoryUrl)).json()) as Record<string, string> & { meta: Record<string, unknown> };
  }

  async nonce(): Promise<string> {
    const d = await this.directory();
    const r = await this.fetch(d.newNonce!, { method: 'HEAD' });
    return r.headers.get('Replay-Nonce')!;
  }

  /** POSTs a signed request; a fresh nonce is fetched unless given. */
  async post(url: string, payload: unknown, o: SignOptions & { contentType?: string; body?: string }): Promise<Response> {
    const nonce = o.nonce ?? (await this.nonce());
    const body = o.body ?? JSON.stringify(await signJws(url, payload, { ...o, nonce }));
    return this.fetch(url, { method: 'POST', headers: { 'Content-Type': o.contentType ?? 'application/jose+json' }, body });
  }
}

/** Reads a problem document, asserting its content type. */
export async function problemOf(r: Response): Promise<{ status: number; type: string; detail: string }> {
  const type = r.headers.get('Content-Type');
  const body = (await r.json()) as { type: string; detail: string };
  if (type !== 'application/problem+json') throw new Error(`expected a problem, got ${r.status} ${type}: ${JSON.stringify(body)}`);
  return { status: r.status, type: body.type.replace('urn:ietf:params:acme:error:', ''), detail: body.detail };
}
