import { describe, expect, it } from 'vitest';
import { createAcmeApp } from '../../src/http/acme-https/fetch-app.ts';
import { createApp } from '../../src/http/plain-app.ts';
import { caCertificatesOf } from '../../src/http/routes/ca-certificates.ts';
import { silentLogger } from '../../src/index.ts';
import { ORIGIN, useAcmeFixture } from './support/fixture.ts';

const t = useAcmeFixture({ requireEab: false });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('headers on every ACME response (RFC 8555 §6.5, §7.1, §6.7) and X-Request-Id', () => {
  it('ok/success, problem, 404, 405 and sub-app (/ca) responses all carry a fresh nonce, the index link, a cache policy and a request id', async () => {
    const app = createAcmeApp(t.f.ctx, { caCertificates: caCertificatesOf(t.ca) });
    const a = await t.f.account();
    const order = await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'h.example.test' }] }, { key: a.key, kid: a.kid });
    const responses = [
      await app.request(`${ORIGIN}/acme/directory`),
      await app.request(`${ORIGIN}/acme/new-nonce`, { method: 'HEAD' }),
      await app.request(`${ORIGIN}/acme/new-order`, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: '{"protected":"x"}' }),
      await app.request(`${ORIGIN}/acme/new-order`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }),
      await app.request(`${ORIGIN}/nowhere`),
      await app.request(`${ORIGIN}/acme/order/abc`),
      await app.request(`${ORIGIN}/ca/root.pem`),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 400, 415, 404, 405, 200]);
    const nonces = new Set<string>();
    const ids = new Set<string>();
    for (const r of [...responses, order]) {
      expect(r.headers.get('Replay-Nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(r.headers.get('Link')).toContain(`<${ORIGIN}/acme/directory>;rel="index"`);
      // The CA certificates may be cached (they keep their own header); nothing ACME may.
      expect(r.headers.get('Cache-Control')).toBe(r === responses[6] ? 'public, max-age=3600' : 'no-store');
      nonces.add(r.headers.get('Replay-Nonce')!);
      if (r !== order) {
        expect(r.headers.get('X-Request-Id')).toMatch(UUID);
        ids.add(r.headers.get('X-Request-Id')!);
      }
    }
    expect(nonces.size).toBe(responses.length + 1);
    expect(ids.size).toBe(responses.length);
    // A reply's own links come first, the index last; Location and Retry-After as the handler said.
    expect(order.status).toBe(201);
    expect(order.headers.get('Location')).toMatch(/\/acme\/order\//);
    expect(responses[5]!.headers.get('Allow')).toBe('POST');
    expect(responses[2]!.headers.get('Content-Type')).toBe('application/problem+json');
  });

  it('ok/the plain-HTTP app echoes X-Request-Id too', async () => {
    const app = createApp({ logger: silentLogger, certificates: caCertificatesOf(t.ca) });
    const a = await app.request('http://x/healthz');
    const b = await app.request('http://x/nowhere');
    expect(a.headers.get('X-Request-Id')).toMatch(UUID);
    expect(b.headers.get('X-Request-Id')).toMatch(UUID);
    expect(a.headers.get('X-Request-Id')).not.toBe(b.headers.get('X-Request-Id'));
  });
});
