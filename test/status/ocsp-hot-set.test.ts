import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixedClock } from '../../src/domain/clock.ts';
import { initInstance, openInstance, silentLogger, type CaInstance } from '../../src/index.ts';
import { Doorkeeper, OcspResponseCache, servedResponse, type ServedResponse } from '../../src/status/ocsp-cache.ts';
import { RECONCILE_IDLE_RATIO, StatusService } from '../../src/status/status-service.ts';
import { ocspConfigSchema } from '../../src/config/status.ts';
import { statusOptionsFromConfig } from '../../src/status/options.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-03-01T12:00:00Z');
const served = (serial: string, thisUpdateMs = NOW): ServedResponse => servedResponse(serial, Buffer.from(serial), new Date(thisUpdateMs), new Date(thisUpdateMs + HOUR));

function certStatusOf(der: Uint8Array): ocsp.CertStatus {
  const r = AsnConvert.parse(der, ocsp.OCSPResponse);
  return AsnConvert.parse(r.responseBytes!.response, ocsp.BasicOCSPResponse).tbsResponseData.responses[0]!.certStatus;
}

describe('OCSP response cache: a bounded hot set over the database', () => {
  it('ok/holds at most maxEntries, evicts the least recently used, and reads misses through the loader', () => {
    const loads: string[] = [];
    const cache = new OcspResponseCache({ maxEntries: 3 });
    cache.loadMissesFrom((serial) => (loads.push(serial), serial.startsWith('s') ? served(serial) : null));
    // The first read of a serial is served, not held (admission); the second is held.
    for (const s of ['s1', 's2', 's3', 's1', 's2', 's3']) expect(cache.get(s, NOW)!.serial).toBe(s);
    expect(cache.size).toBe(3);
    expect(cache.get('s1', NOW)!.serial).toBe('s1'); // held: no load, and now the most recently used
    expect(loads).toEqual(['s1', 's2', 's3', 's1', 's2', 's3']);
    cache.get('s4', NOW);
    cache.get('s4', NOW); // held now: evicts s2, the least recently used
    expect(cache.size).toBe(3);
    loads.length = 0;
    cache.get('s1', NOW);
    cache.get('s2', NOW);
    expect(loads).toEqual(['s2']);
    expect(cache.get('x9', NOW)).toBeNull(); // nothing stored: null, and nothing held
    expect(cache.size).toBe(3);
    for (let i = 0; i < 10_000; i++) cache.get(`s${i % 5000}`, NOW);
    expect(cache.size).toBe(3);
  });

  it('ok/invalidate forgets a held response (the next get reads the new one); update replaces only what is held', () => {
    let version = NOW;
    const cache = new OcspResponseCache({ maxEntries: 10 });
    cache.loadMissesFrom((serial) => served(serial, version));
    cache.get('a', NOW); // asked once: served, not held
    expect(cache.get('a', NOW)!.thisUpdateMs).toBe(NOW); // asked again: held
    version = NOW + 1000;
    expect(cache.get('a', NOW)!.thisUpdateMs).toBe(NOW); // still held
    cache.invalidate('a');
    expect(cache.get('a', NOW)!.thisUpdateMs).toBe(NOW + 1000);
    cache.update(served('b', NOW + 5000));
    expect(cache.size).toBe(0); // b was not held, so it stays in the database; nor is a after invalidate until asked twice more
    cache.get('a', NOW);
    expect(cache.size).toBe(1);
    cache.update(served('a', NOW + 5000));
    expect(cache.get('a', NOW)!.thisUpdateMs).toBe(NOW + 5000);
  });

  it('ok/admission: under a uniform mix over far more serials than the hot set, a miss is served and dropped (no LRU churn); a serial asked again soon is held', () => {
    const loads: string[] = [];
    const cache = new OcspResponseCache({ maxEntries: 1000 });
    cache.loadMissesFrom((serial) => (loads.push(serial), served(serial)));
    // 200,000 distinct serials, each asked once: every one is served, and (but for hash collisions) none is held.
    for (let i = 0; i < 200_000; i++) expect(cache.get(`u${i}`, NOW)!.serial).toBe(`u${i}`);
    expect(cache.size).toBeLessThan(20);
    // A hot serial among them is held from its second miss on, and then served without a load.
    for (let i = 0; i < 50; i++) {
      cache.get('hot', NOW);
      cache.get(`v${i}`, NOW);
    }
    expect(loads.filter((s) => s === 'hot')).toEqual(['hot', 'hot']);
    // Requests are remembered (raw bytes → serial) only for held responses, so the request map cannot churn either.
    cache.rememberRequest('Gcold', 'v1');
    cache.rememberRequest('Ghot', 'hot');
    expect(cache.forRequest('Gcold', NOW)).toBeNull();
    expect(cache.forRequest('Ghot', NOW)!.serial).toBe('hot');
  });

  it('ok/the doorkeeper admits on a second offer within about its size of other offers, and its memory is fixed', () => {
    const d = new Doorkeeper(4096);
    expect(d.admit('a')).toBe(false);
    expect(d.admit('a')).toBe(true);
    expect(d.admit('a')).toBe(false); // admitting frees the slot: a third offer starts over
    let admitted = 0;
    for (let i = 0; i < 100_000; i++) if (d.admit(`k${i}`)) admitted++;
    expect(admitted).toBeLessThan(100); // distinct keys: only fingerprint collisions, which are rare
  });

  it('ok/the hot-set size is pki.json ocsp.cacheEntries, with a default that bounds memory', () => {
    expect(statusOptionsFromConfig({}).ocspCacheEntries).toBe(50_000);
    expect(statusOptionsFromConfig({ ocsp: { cacheEntries: 1234 } }).ocspCacheEntries).toBe(1234);
    expect(ocspConfigSchema.safeParse({ cacheEntries: 0 }).success).toBe(false);
  });
});

describe('status service over a bounded hot set', () => {
  const clock = fixedClock(new Date(NOW));
  let ca: CaInstance;
  const serials: string[] = [];
  const options = { pollIntervalMs: 24 * HOUR, maintenanceIntervalMs: 24 * HOUR, crlRebuildDelayMs: 24 * HOUR, ocspCacheEntries: 4 };

  beforeAll(async () => {
    const dir = join(tempDir(), 'ca');
    await initInstance({ dir, passphrase: TEST_PASSPHRASE, clock });
    ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE }, clock });
    const first = new StatusService({ store: ca.store, authority: ca.authority, clock, logger: silentLogger, options });
    first.attach();
    await first.start();
    for (let i = 0; i < 12; i++) {
      const name = `hot${i}.example`;
      serials.push((await ca.authority.issue((await makeCsr({ cn: name, sans: [{ type: 'dns', value: name }] })).pem, { lifetimeMs: 24 * HOUR })).serial);
    }
    first.stop();
  });
  afterAll(async () => {
    await ca?.close();
  });

  it('ok/start loads nothing; every serial is served its stored response while at most ocspCacheEntries are held', async () => {
    const status = new StatusService({ store: ca.store, authority: ca.authority, clock, logger: silentLogger, options });
    const sign = vi.spyOn(status, 'presign');
    await status.start();
    await status.caughtUp;
    expect(status.cache.size).toBe(0);
    for (const serial of [...serials, ...serials]) {
      const r = await status.presigned(serial);
      expect(r.body.equals(Buffer.from(ca.store.ocspResponses.get(serial)!.der))).toBe(true);
      expect(status.cache.size).toBeLessThanOrEqual(4);
    }
    expect(sign.mock.calls.filter((c) => serials.includes(c[0]))).toEqual([]); // read from the database, never re-signed
    status.stop();
  });

  it('ok/start()\'s scan for certificates without a response runs in windows with the event loop free between them', async () => {
    const now = Math.floor(NOW / 1000);
    const insert = ca.store.db.prepare(
      `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, der, public_key_sha256, created_at)
       VALUES (?, ?, '', '[]', 'default', ?, ?, 'valid', x'00', '', ?)`,
    );
    const missing = Array.from({ length: 4500 }, (_, i) => `6d${i.toString(16).padStart(30, '0')}`);
    ca.store.db.transaction(() => {
      for (const serial of missing) insert.run(serial, ca.authority.issuer.keyId, now - 60, now + 3600, now);
    })();
    const status = new StatusService({ store: ca.store, authority: ca.authority, clock, logger: silentLogger, options });
    const windows = vi.spyOn(ca.store.ocspResponses, 'staleWindow');
    let ticks = 0;
    const tick = setInterval(() => ticks++, 0);
    await status.start();
    await status.caughtUp;
    clearInterval(tick);
    expect(windows.mock.calls.length).toBeGreaterThanOrEqual(5); // 4,500+ certificates, 1,000 a window
    expect(ticks).toBeGreaterThan(0);
    expect(missing.filter((s) => ca.store.ocspResponses.get(s) === null)).toEqual([]);
    status.stop();
    windows.mockRestore();
  });

  it('ok/start()\'s scan pauses 9× what each window took (≤ 10% of the loop) and says when it is done', async () => {
    const events: [string, Record<string, unknown> | undefined][] = [];
    const logger = { ...silentLogger, info: (e: string, f?: Record<string, unknown>) => void events.push([e, f]) };
    const status = new StatusService({ store: ca.store, authority: ca.authority, clock, logger, options });
    const original = ca.store.ocspResponses.staleWindow.bind(ca.store.ocspResponses);
    const starts: number[] = [];
    const windows = vi.spyOn(ca.store.ocspResponses, 'staleWindow').mockImplementation((...a) => {
      starts.push(performance.now());
      const until = performance.now() + 15; // a window as slow as one over a million rows on a loaded box
      while (performance.now() < until);
      return original(...a);
    });
    await status.start();
    await status.caughtUp;
    windows.mockRestore();
    status.stop();
    expect(starts.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(15 * (1 + RECONCILE_IDLE_RATIO) - 2);
    const done = events.find(([e]) => e === 'ocsp.reconciled')?.[1];
    expect(done).toMatchObject({ signed: expect.any(Number), complete: true });
    expect(done!.busyMs as number).toBeGreaterThanOrEqual(15 * starts.length);
  });

  it('fail/a revocation committed elsewhere and not yet re-signed is never answered from the stale "good" row', async () => {
    const status = new StatusService({ store: ca.store, authority: ca.authority, clock, logger: silentLogger, options });
    await status.start();
    await status.caughtUp;
    const victim = serials[3]!;
    // What `pki revoke` commits in another process, before any poll has run here.
    ca.store.certificates.revoke(victim, clock.now(), 1);
    expect(ca.store.ocspResponses.get(victim)!.certStatus).toBe('good');
    const dirty = vi.spyOn(status.crls, 'markDirty');
    const r = await status.presigned(victim);
    expect(certStatusOf(r.body).revoked).toBeDefined();
    // The poll will find this response already right, so the CRL shard is marked now.
    expect(dirty).toHaveBeenCalledWith(0);
    expect(ca.store.ocspResponses.get(victim)!.certStatus).toBe('revoked');
    status.stop();
  });
});
