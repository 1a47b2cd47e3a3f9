import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/domain/log.ts';
import { createAcmeApp } from '../../src/http/acme-https/fetch-app.ts';
import { newAccountKey, TestClient } from './support/client.ts';
import { ORIGIN, useAcmeFixture } from './support/fixture.ts';

/** The request log's 4xx lines say what the client was told: the problem type and detail (issue #16). */
const t = useAcmeFixture({ requireEab: false });

function captured() {
  const lines: Record<string, unknown>[] = [];
  const keep = (event: string, fields: Record<string, unknown> = {}) => void (event === 'http.request' && lines.push(fields));
  const logger: Logger = { info: keep, warn: keep, error: keep };
  const client = new TestClient(createAcmeApp({ ...t.f.ctx, logger }), `${ORIGIN}/acme/directory`);
  return { lines, client, last: () => lines.at(-1)! };
}

describe('request log problems', () => {
  it('fail/a refused JWS (thrown problem) logs its type and detail with the status', async () => {
    const { client, last } = captured();
    const key = await newAccountKey();
    const r = await client.post(t.f.links.newAccount, {}, { key, nonce: 'bm90LWEtbm9uY2U' });
    const body = (await r.json()) as { type: string; detail: string };
    expect(last()).toMatchObject({ status: 400, problem: 'urn:ietf:params:acme:error:badNonce', detail: body.detail });
  });

  it('fail/a problem the pipeline answers itself (415, 405, 404) logs its type and detail too', async () => {
    const { client, last } = captured();
    const key = await newAccountKey();
    await client.post(t.f.links.newAccount, {}, { key, contentType: 'application/json' });
    expect(last()).toMatchObject({ status: 415, problem: 'urn:ietf:params:acme:error:malformed', detail: expect.stringContaining('Content-Type') });
    await client.fetch(`${ORIGIN}/acme/order/abc`);
    expect(last()).toMatchObject({ status: 405, problem: 'urn:ietf:params:acme:error:malformed', detail: expect.stringContaining('POST-as-GET') });
    await client.fetch(`${ORIGIN}/nothing-here`);
    expect(last()).toMatchObject({ status: 404, problem: 'urn:ietf:params:acme:error:malformed', detail: expect.any(String) });
  });

  it('ok/a 2xx line carries no problem', async () => {
    const { client, last } = captured();
    await client.fetch(t.f.links.newNonce, { method: 'HEAD' });
    expect(last()).toMatchObject({ status: 200 });
    expect(last()).not.toHaveProperty('problem');
  });
});
