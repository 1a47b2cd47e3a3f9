import { describe, expect, it } from 'vitest';
import { thumbprint } from '../../src/acme/jws.ts';
import { acmeFixture, type AcmeFixture } from './support/fixture.ts';
import { createTestCa } from '../helpers/ca.ts';

type Challenge = { type: string; url: string; token: string; status: string; error?: { type: string } };

/** An order for `name` and its http-01 challenge, answered by the fixture's web server (optionally late). */
async function http01(f: AcmeFixture, name: string, answer: 'right' | 'wrong', delayMs = 0) {
  const a = await f.account();
  const o = await f.client.post(f.links.newOrder, { identifiers: [{ type: 'dns', value: name }] }, { key: a.key, kid: a.kid });
  const order = (await o.json()) as { authorizations: string[] };
  const az = (await (await f.client.post(order.authorizations[0]!, '', { key: a.key, kid: a.kid })).json()) as { challenges: Challenge[] };
  const ch = az.challenges.find((c) => c.type === 'http-01')!;
  f.web.set(ch.token, answer === 'right' ? `${ch.token}.${await thumbprint(a.key.jwk)}` : 'nope', { delayMs });
  const r = await f.client.post(ch.url, {}, { key: a.key, kid: a.kid });
  return { status: r.status, retryAfter: r.headers.get('Retry-After'), body: (await r.json()) as Challenge, orderUrl: o.headers.get('Location')!, a };
}

async function withFixture(config: Parameters<typeof acmeFixture>[1], run: (f: AcmeFixture) => Promise<void>) {
  const ca = await createTestCa();
  const f = await acmeFixture(ca, config);
  try {
    await run(f);
  } finally {
    await f.close();
    await ca.close();
  }
}

describe('challenge POST waits (bounded) for its validation', () => {
  it('ok/a fast validation is answered with its outcome: valid, no Retry-After, and the order is ready at once', () =>
    withFixture({ requireEab: false }, async (f) => {
      const r = await http01(f, 'fast.example.test', 'right');
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('valid');
      expect(r.retryAfter).toBeNull();
      const order = (await (await f.client.post(r.orderUrl, '', { key: r.a.key, kid: r.a.kid })).json()) as { status: string };
      expect(order.status).toBe('ready');
    }));

  it('fail/a wrong answer is answered invalid with the problem in the same response', () =>
    withFixture({ requireEab: false }, async (f) => {
      const r = await http01(f, 'wrong.example.test', 'wrong');
      expect(r.body).toMatchObject({ status: 'invalid', error: { type: 'urn:ietf:params:acme:error:incorrectResponse' } });
    }));

  it('ok/a validation slower than challengeWait is answered processing with Retry-After, and still completes', () =>
    withFixture({ requireEab: false, challengeWait: '1s' }, async (f) => {
      const r = await http01(f, 'slow.example.test', 'right', 2_500);
      // Answered before the 2.5 s validation could finish: the wait was bounded.
      expect(r.body.status).toBe('processing');
      expect(r.retryAfter).toBe('1');
      await f.service.validations.drain();
      const after = (await (await f.client.post(r.body.url, '', { key: r.a.key, kid: r.a.kid })).json()) as Challenge;
      expect(after.status).toBe('valid');
    }));

  it('ok/challengeWait 0s answers at once (processing), as RFC 8555 §7.5.1 also allows', () =>
    withFixture({ requireEab: false, challengeWait: '0s' }, async (f) => {
      const r = await http01(f, 'nowait.example.test', 'right');
      expect(r.body.status).toBe('processing');
      expect(r.retryAfter).toBe('1');
      await f.service.validations.drain();
    }));
});
