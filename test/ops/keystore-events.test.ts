import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaInstance, Logger } from '../../src/index.ts';
import { Pkcs11KeyStore } from '../../src/keystore/pkcs11.ts';
import { watchKeyStore } from '../../src/health/keystore-events.ts';
import { CaMetrics } from '../../src/metrics/metrics.ts';
import { createTestCa } from '../helpers/ca.ts';
import { createTestToken, hasSoftHsm } from '../helpers/softhsm.ts';
import { run } from '../helpers/tools.ts';
import { parsePrometheus, sumOf } from './support/prom.ts';

const available = hasSoftHsm();

/** Closes every session of the process on the token, as a module restart or a pulled token would. */
function pullSessions(module: string, label: string, finalize = false): void {
  const p11 = new pkcs11js.PKCS11();
  p11.load(module);
  try {
    p11.C_Initialize();
  } catch {
    // already initialized in this process
  }
  if (finalize) return void p11.C_Finalize();
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === label)!;
  p11.C_CloseAllSessions(slot);
}

/** A PKCS#11 session lost while serving is counted, logged and audited, whether or not the reconnect recovers. */
describe.skipIf(!available)('key store events (SoftHSM2)', () => { // skips only locally: the tool check throws when CI is set
  const token = available ? createTestToken() : null!;
  const doomed = available ? createTestToken() : null!;
  let ca: CaInstance;
  const lines: { event: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = { info: () => {}, warn: (event, fields = {}) => void lines.push({ event, fields }), error: (event, fields = {}) => void lines.push({ event, fields }) };

  beforeAll(async () => {
    ca = await createTestCa();
  });
  afterAll(async () => {
    await ca?.close();
  });

  it('ok/sessions closed underneath: signing recovers, and the loss is in the metrics, the log and the audit trail', async () => {
    const ks = await Pkcs11KeyStore.open({ module: token.module, token: token.label }, token.pin);
    const metrics = new CaMetrics();
    try {
      watchKeyStore({ keyStore: ks, store: ca.store, metrics, logger, clock: ca.clock });
      await ks.createKey({ label: 'events', alg: 'ecdsa-p256' });
      const signer = await ks.getSigner({ label: 'events' });
      await signer.sign(randomBytes(32));
      pullSessions(token.module, token.label);
      await signer.sign(randomBytes(32));
      const rows = ca.store.audit.list({ target: 'pkcs11' });
      expect(rows.map((r) => r.action)).toEqual(['keystore.session.recovered']);
      expect(rows[0]!.details.operation).toMatch(/signing/);
      expect(lines.at(-1)).toMatchObject({ event: 'keystore.session-lost', fields: { recovered: true } });
      expect(sumOf(parsePrometheus(await metrics.render()).samples, 'pki_keystore_errors_total', { operation: 'session' })).toBe(1);
    } finally {
      await ks.close();
    }
  });

  it('fail/the token is gone for good: the failed reconnect is audited as keystore.session.failed', async () => {
    const ks = await Pkcs11KeyStore.open({ module: doomed.module, token: doomed.label }, doomed.pin);
    try {
      watchKeyStore({ keyStore: ks, store: ca.store, metrics: new CaMetrics(), logger, clock: ca.clock });
      await ks.createKey({ label: 'gone', alg: 'ecdsa-p256' });
      const signer = await ks.getSigner({ label: 'gone' });
      pullSessions(doomed.module, doomed.label, true);
      run('softhsm2-util', ['--delete-token', '--token', doomed.label], { env: doomed.env });
      await expect(signer.sign(randomBytes(32))).rejects.toMatchObject({ kind: 'keyStore' });
      const failed = ca.store.audit.list({ target: 'pkcs11' }).filter((r) => r.action === 'keystore.session.failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]!.details.detail).toMatch(/no PKCS#11 token/);
      expect(ca.store.audit.verifyChain().ok).toBe(true);
    } finally {
      await ks.close();
    }
  });
});
