import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { renameSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Pkcs11KeyStore } from '../../src/keystore/pkcs11.ts';
import type { KeyStoreEvent } from '../../src/keystore/keystore.ts';
import type { Signer } from '../../src/domain/signer.ts';
import { createTestToken, hasSoftHsm } from '../helpers/softhsm.ts';

const available = hasSoftHsm();

async function signsAndVerifies(signer: Signer): Promise<boolean> {
  const data = randomBytes(100);
  const key = createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' });
  return verify('sha256', data, { key, dsaEncoding: 'der' }, await signer.sign(data));
}

/** Retries `fn` until it resolves or `ms` pass (what a readiness probe or the next request does). */
async function eventually<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The token's storage going away and coming back under a running signer (an HSM rebooted, a
 * network HSM partitioned, SoftHSM's token directory moved away and put back): SoftHSM then
 * answers CKR_GENERAL_ERROR, and sees the token again only after C_Finalize + C_Initialize.
 */
describe.skipIf(!available)('pkcs11 recovery after the token went away and came back', () => { // skips only locally: the tool check throws when CI is set
  const token = available ? createTestToken() : null!;

  it('ok/token directory moved away and put back: signing fails cleanly while away, then recovers without a restart', async () => {
    const ks = await Pkcs11KeyStore.open({ module: token.module, token: token.label }, token.pin);
    const events: KeyStoreEvent[] = [];
    ks.onEvent((e) => events.push(e));
    try {
      await ks.createKey({ label: 'moved', alg: 'ecdsa-p256' });
      const signer = await ks.getSigner({ label: 'moved' });
      expect(await signsAndVerifies(signer)).toBe(true);

      renameSync(token.tokenDir, `${token.tokenDir}.away`);
      try {
        // While away: a clear key store error, never a hang; repeated requests fail fast (backoff).
        await expect(signer.sign(randomBytes(32))).rejects.toMatchObject({ kind: 'keyStore' });
        const started = Date.now();
        for (let i = 0; i < 20; i++) await expect(signer.sign(randomBytes(32))).rejects.toMatchObject({ kind: 'keyStore' });
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        renameSync(`${token.tokenDir}.away`, token.tokenDir);
      }

      // Back: the next attempt after the backoff re-initializes the module and signs again.
      expect(await eventually(() => signsAndVerifies(signer))).toBe(true);
      expect(await signsAndVerifies(signer)).toBe(true);
      expect(events.some((e) => e.recovered)).toBe(true);
      // One event per reconnect attempt, not one per refused request.
      expect(events.length).toBeLessThan(21);
    } finally {
      await ks.close();
    }
  });
});
