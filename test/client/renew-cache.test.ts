import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useWorkloadTestEnv } from './support.ts';
import { pkiAsync as pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { renew } from '../../src/client/renew.ts';
import { revocationStatus } from '../../src/client/revocation.ts';
import { AnswerCache, REVOCATION_FRESH_MS } from '../../src/client/answer-cache.ts';

/**
 * #19: a not-due renew reuses the last ARI window (until its Retry-After) and the last good
 * revocation verdict (at most 1 h), so a timer run on every host asks the CA nothing. Requests
 * are counted at the CA itself: it runs in this process, and Node publishes every request its
 * HTTP servers receive on the `http.server.request.start` diagnostics channel.
 */
const work = tempDir();
const env = useWorkloadTestEnv(work, { requireEab: false });
const HOUR = 3_600_000;

async function requestsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const onRequest = (m: unknown) => void seen.push((m as { request: IncomingMessage }).request.url ?? '');
  subscribe('http.server.request.start', onRequest);
  try {
    await fn();
  } finally {
    unsubscribe('http.server.request.start', onRequest);
  }
  return seen;
}

describe('renew: cached ARI and revocation answers', () => {
  const out = join(work, 'cached');
  const t0 = Date.now();
  const notDue = (at: number) => renew({ out, isRevoked: revocationStatus, now: () => new Date(at) });
  const state = () => JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')) as { cache?: { serial: string; ari?: { until: string }; revocation?: { until: string } } };

  it('ok/the first not-due run asks ARI and OCSP/CRL; a second one asks nothing', async () => {
    const e = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--ip', '127.0.0.1', '--out', out, '--http-port', String(env.http01Port)]);
    expect(e.status, e.stderr).toBe(0);
    let first: Awaited<ReturnType<typeof notDue>> | undefined;
    const asked = await requestsDuring(async () => void (first = await notDue(t0)));
    expect(first!.action).toBe('not-due');
    expect(asked.some((u) => u.includes('renewal-info'))).toBe(true);
    expect(asked.some((u) => /ocsp|crl/i.test(u))).toBe(true);
    const cache = state().cache!;
    expect(new Date(cache.revocation!.until).getTime() - t0).toBeLessThanOrEqual(REVOCATION_FRESH_MS);
    expect(new Date(cache.ari!.until).getTime()).toBeGreaterThan(t0);

    let second: Awaited<ReturnType<typeof notDue>> | undefined;
    expect(await requestsDuring(async () => void (second = await notDue(t0 + 60_000)))).toEqual([]);
    expect(second).toMatchObject({ action: 'not-due', serial: first!.serial });
  });

  it('ok/a stale revocation verdict (over 1 h) is asked again; the ARI window only after its Retry-After', async () => {
    const revocationOnly = await requestsDuring(() => notDue(t0 + 2 * HOUR));
    expect(revocationOnly.some((u) => /ocsp|crl/i.test(u))).toBe(true);
    expect(revocationOnly.some((u) => u.includes('renewal-info'))).toBe(false);
    const ariUntil = new Date(state().cache!.ari!.until).getTime();
    const both = await requestsDuring(() => notDue(ariUntil + 1000));
    expect(both.some((u) => u.includes('renewal-info'))).toBe(true);
    expect(both.some((u) => /ocsp|crl/i.test(u))).toBe(true);
  });

  it('ok/--force asks no cache: it renews whatever the cached answers say', async () => {
    const r = await renew({ out, force: true, isRevoked: revocationStatus });
    expect(r).toMatchObject({ action: 'renewed', reason: 'forced' });
  });

  it('fail/a revoked verdict is never cached as good: every run asks again and the pair is renewed', async () => {
    const cache = new AnswerCache(undefined, 'ab', new Date(t0));
    let asks = 0;
    const check = cache.revocation(async () => (asks++, { revoked: true, nextUpdate: new Date(t0 + HOUR) }));
    expect(await check('', '')).toMatchObject({ revoked: true });
    expect(await check('', '')).toMatchObject({ revoked: true });
    expect(asks).toBe(2);
    expect(cache.state().revocation).toBeUndefined();
    // A failed check is not cached either, and a good one expires at nextUpdate when that is sooner than 1 h.
    const failing = new AnswerCache(undefined, 'ab', new Date(t0)).revocation(() => Promise.reject(new Error('down')));
    await expect(failing('', '')).rejects.toThrow('down');
    const soon = new AnswerCache(undefined, 'ab', new Date(t0));
    await soon.revocation(async () => ({ revoked: false, nextUpdate: new Date(t0 + 60_000) }))('', '');
    expect(soon.state().revocation!.until).toBe(new Date(t0 + 60_000).toISOString());

    // End to end: a good verdict cached, then the CA revokes; once the cache is stale the run sees it and renews.
    await notDue(Date.now());
    const serial = state().cache!.serial;
    await env.ca.authority.revoke(serial, { reason: 'keyCompromise', actor: 'test' });
    let r: Awaited<ReturnType<typeof notDue>> | undefined;
    for (let i = 0; i < 50 && r?.action !== 'renewed'; i++) {
      r = await notDue(Date.now() + 7 * HOUR);
      if (r.action !== 'renewed') await new Promise((res) => setTimeout(res, 100));
    }
    expect(r).toMatchObject({ action: 'renewed', previousSerial: serial });
    expect(['revoked', 'ari-window']).toContain(r!.action === 'renewed' ? r!.reason : null);
  });
});
