import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/domain/log.ts';
import { createAcmeApp } from '../../src/http/acme-https/fetch-app.ts';
import { createApp } from '../../src/http/plain-app.ts';
import { ORIGIN, useAcmeFixture } from '../acme/support/fixture.ts';

const t = useAcmeFixture({ requireEab: false });

/** A logger that keeps what it is given. */
function capture(): { logger: Logger; lines: { event: string; fields: Record<string, unknown> }[] } {
  const lines: { event: string; fields: Record<string, unknown> }[] = [];
  const keep = (event: string, fields: Record<string, unknown> = {}) => void lines.push({ event, fields });
  return { logger: { info: keep, warn: keep, error: keep }, lines };
}

/** One request-log writer (src/http/request-log.ts) for the plain-HTTP app and the ACME pipeline. */
describe('request log', () => {
  it('ok/the plain-HTTP app and the ACME pipeline write the same http.request line, its id echoed as X-Request-Id', async () => {
    const plain = capture();
    const app = createApp({ logger: plain.logger, certificates: { rootDer: new Uint8Array(), intermediateDer: new Uint8Array(), rootPem: '', intermediatePem: '' } });
    const plainRes = await app.request('/healthz');
    const acme = capture();
    const acmeRes = await createAcmeApp({ ...t.f.ctx, logger: acme.logger }).request(`${ORIGIN}/acme/order/abc`);

    const [p] = plain.lines.filter((l) => l.event === 'http.request');
    const [a] = acme.lines.filter((l) => l.event === 'http.request');
    expect(p!.fields).toEqual({ requestId: plainRes.headers.get('X-Request-Id'), method: 'GET', path: '/healthz', status: 200, ms: expect.any(Number) });
    expect(a!.fields).toEqual({ requestId: acmeRes.headers.get('X-Request-Id'), method: 'GET', path: '/acme/order/abc', status: 405, ms: expect.any(Number), problem: 'urn:ietf:params:acme:error:malformed', detail: expect.any(String) });
    // A 4xx line adds what the client was told (test/acme/request-log-problems.test.ts).
    expect(Object.keys(a!.fields)).toEqual([...Object.keys(p!.fields), 'problem', 'detail']);
  });
});
