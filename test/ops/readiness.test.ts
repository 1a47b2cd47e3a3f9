import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaInstance } from '../../src/index.ts';
import type { Signer } from '../../src/domain/signer.ts';
import { CaMetrics } from '../../src/metrics/metrics.ts';
import { Readiness } from '../../src/health/readiness.ts';
import { signMetrics } from '../../src/metrics/signer.ts';
import { IssuerKey } from '../../src/authority/issuer-key.ts';
import { createTestCa } from '../helpers/ca.ts';
import { parsePrometheus, sumOf } from './support/prom.ts';

/** A signer whose key store can be "unplugged" (an HSM removed, a token logged out). */
function flakySigner(): Signer & { broken: boolean; calls: number } {
  const s = {
    label: 'intermediate',
    alg: 'ecdsa-p256' as const,
    publicKeySpki: new Uint8Array([1, 2, 3]),
    broken: false,
    calls: 0,
    async sign(): Promise<Uint8Array> {
      s.calls++;
      if (s.broken) throw new Error('CKR_DEVICE_REMOVED');
      return new Uint8Array([0x30, 0x00]);
    },
  };
  return s;
}

let ca: CaInstance;
beforeAll(async () => {
  ca = await createTestCa();
});
afterAll(async () => {
  await ca?.close();
});

const freshCrl = { shards: 1, current: () => ({ thisUpdate: new Date(Date.now() - 1000), nextUpdate: new Date(Date.now() + 3_600_000) }) };

describe('readiness: signer', () => {
  it('ok/a failing signer makes /readyz not ready with the key store error; a working one proves itself with one probe per window', async () => {
    const metrics = new CaMetrics();
    const raw = flakySigner();
    const signer = new IssuerKey(raw, signMetrics(metrics));
    const r = new Readiness({ db: ca.store.db, key: signer.health(), crls: freshCrl, clock: ca.clock, signerProofMs: 60_000 });

    expect(await r.check()).toMatchObject({ ready: true });
    expect(await r.check()).toMatchObject({ ready: true });
    expect(raw.calls).toBe(1); // the second check reused the first probe

    raw.broken = true;
    await expect(signer.sign(new Uint8Array([1]))).rejects.toThrow('CKR_DEVICE_REMOVED');
    // The latest real signature failed: not ready, without waiting for the probe window.
    const report = await r.check();
    expect(report.ready).toBe(false);
    expect(report.reason).toBe('signer: cannot sign: CKR_DEVICE_REMOVED');

    const m = parsePrometheus(await metrics.render());
    expect(sumOf(m.samples, 'pki_keystore_errors_total', { operation: 'sign' })).toBe(1);
    expect(sumOf(m.samples, 'pki_signer_seconds_count', { result: 'error' })).toBe(1);
    expect(sumOf(m.samples, 'pki_signer_seconds_count', { result: 'ok' })).toBe(1);

    // Recovered: noticed by the next probe a few seconds after the failure, without any traffic.
    raw.broken = false;
    const later = new Readiness({ db: ca.store.db, key: signer.health(), crls: freshCrl, clock: ca.clock });
    expect((await later.check()).ready).toBe(false); // the failure is fresh: trusted for a few seconds
    await signer.sign(new Uint8Array([1]));
    expect(await r.check()).toMatchObject({ ready: true });
  });

  it('ok/readiness sees the issuing key only as health: the last outcome and a probe of fixed bytes, nothing that signs chosen bytes', async () => {
    const raw = flakySigner();
    const health = new IssuerKey(raw).health();
    expect(Object.keys(health).sort()).toEqual(['lastSign', 'probe']);
    expect('sign' in health).toBe(false);
    expect((await health.probe()).ok).toBe(true);
    expect(health.lastSign?.ok).toBe(true);
  });

  it('fail/no CRL yet is not ready', async () => {
    const r = new Readiness({ db: ca.store.db, key: new IssuerKey(flakySigner()).health(), crls: { shards: 2, current: (s) => (s === 0 ? freshCrl.current() : null) }, clock: ca.clock });
    expect((await r.check()).reason).toBe('crl: shard 1 has no CRL yet');
  });
});
