import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import { Pkcs11KeyStore } from '../../src/keystore/pkcs11.ts';
import type { Signer } from '../../src/domain/signer.ts';
import { createTestToken, hasSoftHsm, type TestToken } from '../helpers/softhsm.ts';
import { run } from '../helpers/tools.ts';

const available = hasSoftHsm();

/** Another handle on the same library in this process: what "the sessions closed underneath" looks like to the store. */
function underneath(token: TestToken) {
  const p11 = new pkcs11js.PKCS11();
  p11.load(token.module);
  const init = () => {
    try {
      p11.C_Initialize();
    } catch {
      // Already initialized: same library, same state as the store's handle.
    }
  };
  const slot = () => {
    init();
    return p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === token.label)!;
  };
  return {
    closeAllSessions: () => p11.C_CloseAllSessions(slot()),
    finalize: () => p11.C_Finalize(),
    initialize: init,
    /** A session of our own, to prove the close really happened. */
    openSession: () => p11.C_OpenSession(slot(), pkcs11js.CKF_SERIAL_SESSION),
    sessionAlive: (s: Buffer) => {
      try {
        p11.C_GetSessionInfo(s);
        return true;
      } catch {
        return false;
      }
    },
  };
}

function verifies(signer: Signer, data: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(signer.publicKeySpki), format: 'der', type: 'spki' });
  return verify('sha256', data, { key, dsaEncoding: 'der' }, sig);
}

async function signsAndVerifies(signer: Signer): Promise<boolean> {
  const data = randomBytes(200);
  return verifies(signer, data, await signer.sign(data));
}

describe.skipIf(!available)('pkcs11 session loss on SoftHSM2', () => { // skips only locally: the tool check throws when CI is set
  // Tokens are made before the library first loads in this process, so it sees them all.
  const token = available ? createTestToken() : null!;
  const doomed = available ? createTestToken() : null!;

  async function openWithKey(t: TestToken, label: string) {
    const ks = await Pkcs11KeyStore.open({ module: t.module, token: t.label }, t.pin);
    await ks.createKey({ label, alg: 'ecdsa-p256' });
    return { ks, signer: await ks.getSigner({ label }) };
  }

  it('ok/all sessions closed underneath (C_CloseAllSessions): the next signature still succeeds', async () => {
    const { ks, signer } = await openWithKey(token, 'close-all');
    try {
      expect(await signsAndVerifies(signer)).toBe(true);
      const other = underneath(token);
      const probe = other.openSession();
      other.closeAllSessions();
      // The close really took every session of the process, the store's included.
      expect(other.sessionAlive(probe)).toBe(false);
      expect(await signsAndVerifies(signer)).toBe(true);
      // And it keeps working afterwards (the reconnect left a healthy pool behind).
      expect(await signsAndVerifies(signer)).toBe(true);
    } finally {
      await ks.close();
    }
  });

  it('ok/the library finalized and re-initialized underneath: key handles are found again and signing succeeds', async () => {
    const { ks, signer } = await openWithKey(token, 'reinit');
    try {
      expect(await signsAndVerifies(signer)).toBe(true);
      const other = underneath(token);
      other.finalize();
      other.initialize();
      expect(await signsAndVerifies(signer)).toBe(true);
    } finally {
      await ks.close();
    }
  });

  it('ok/the library finalized underneath and left so: the store initializes it again', async () => {
    const { ks, signer } = await openWithKey(token, 'finalized');
    try {
      underneath(token).finalize();
      expect(await signsAndVerifies(signer)).toBe(true);
    } finally {
      await ks.close();
    }
  });

  it('ok/64 concurrent signatures share the sessions, with every session closed underneath mid-flight', async () => {
    const { ks, signer } = await openWithKey(token, 'concurrent');
    try {
      const data = Array.from({ length: 64 }, () => randomBytes(100));
      const pending = data.map((d) => signer.sign(d));
      underneath(token).closeAllSessions();
      const more = data.map((d) => signer.sign(d));
      const sigs = await Promise.all([...pending, ...more]);
      sigs.forEach((sig, i) => expect(verifies(signer, data[i % 64]!, sig)).toBe(true));
    } finally {
      await ks.close();
    }
  });

  it('ok/close lets signatures in flight finish before the library is finalized; later ones are refused', async () => {
    const { ks, signer } = await openWithKey(token, 'closing');
    const data = randomBytes(64);
    // Settle handlers are attached before close() so the refused ones are not unhandled rejections.
    const settled = Promise.allSettled(Array.from({ length: 16 }, () => signer.sign(data)));
    await ks.close();
    const results = await settled;
    for (const r of results) {
      if (r.status === 'fulfilled') expect(verifies(signer, data, r.value)).toBe(true);
      else expect(r.reason).toMatchObject({ kind: 'keyStore', detail: expect.stringMatching(/is closed/) });
    }
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(0);
    await expect(signer.sign(data)).rejects.toMatchObject({ kind: 'keyStore', detail: expect.stringMatching(/is closed/) });
  });

  it('fail/the token is gone for good: a clear keyStore error, and no hang', async () => {
    const { ks, signer } = await openWithKey(doomed, 'gone');
    try {
      underneath(doomed).finalize();
      // SoftHSM reads its token directory on C_Initialize: delete the token while nothing holds it open.
      run('softhsm2-util', ['--delete-token', '--token', doomed.label], { env: doomed.env });
      const err = await signer.sign(randomBytes(32)).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'keyStore', detail: expect.stringMatching(new RegExp(`no PKCS#11 token "${doomed.label}" is present`)) });
      // Every later request fails the same clean way rather than waiting for a session.
      await expect(signer.sign(randomBytes(32))).rejects.toMatchObject({ kind: 'keyStore' });
    } finally {
      await ks.close();
    }
  });
});
