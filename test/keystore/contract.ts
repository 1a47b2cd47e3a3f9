import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/errors.ts';
import { hashFor, type KeyAlg } from '../../src/domain/algorithms.ts';
import type { KeyStore } from '../../src/keystore/keystore.ts';

/** How a backend under test is opened; `secret` is the passphrase or PIN. */
export interface KeyStoreHarness {
  name: string;
  /** Opens the same store again (as after a restart) with this secret. */
  open(secret: string): Promise<KeyStore>;
  secret: string;
  wrongSecret: string;
  algs: KeyAlg[];
}

function verifies(alg: KeyAlg, spki: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return verify(hashFor(alg).replace('-', '').toLowerCase(), data, { key, dsaEncoding: 'der' }, sig);
}

/** The contract every KeyStore backend must pass (file today, PKCS#11 next). */
export function keyStoreContract(h: KeyStoreHarness): void {
  describe(`KeyStore contract: ${h.name}`, () => {
    for (const alg of h.algs) {
      it(`ok/generates a ${alg} key, signs, and the signature verifies with its public key`, async () => {
        const ks = await h.open(h.secret);
        try {
          const label = `k-${alg}-${randomBytes(4).toString('hex')}`;
          const info = await ks.createKey({ label, alg });
          expect(info.alg).toBe(alg);
          const signer = await ks.getSigner({ label });
          expect(Buffer.from(signer.publicKeySpki)).toEqual(Buffer.from(info.publicKeySpki));
          const data = randomBytes(300);
          const sig = await signer.sign(data);
          expect(verifies(alg, signer.publicKeySpki, data, sig)).toBe(true);
          // A signature over other data must not verify: the check above can fail.
          expect(verifies(alg, signer.publicKeySpki, randomBytes(300), sig)).toBe(false);
        } finally {
          await ks.close();
        }
      });
    }

    it('ok/reopened after a restart, the same key signs again', async () => {
      const label = `persist-${randomBytes(4).toString('hex')}`;
      const first = await h.open(h.secret);
      const created = await first.createKey({ label, alg: h.algs[0]! });
      await first.close();
      const second = await h.open(h.secret);
      try {
        const pub = await second.getPublicKey({ label });
        expect(Buffer.from(pub.publicKeySpki)).toEqual(Buffer.from(created.publicKeySpki));
        const signer = await second.getSigner({ label });
        const data = randomBytes(64);
        expect(verifies(signer.alg, created.publicKeySpki, data, await signer.sign(data))).toBe(true);
        expect((await second.listKeys()).map((k) => k.label)).toContain(label);
      } finally {
        await second.close();
      }
    });

    it('ok/the signing key is not extractable', async () => {
      const ks = await h.open(h.secret);
      try {
        const label = `noexport-${randomBytes(4).toString('hex')}`;
        await ks.createKey({ label, alg: h.algs[0]! });
        const signer = await ks.getSigner({ label });
        if (signer.cryptoKey) {
          expect(signer.cryptoKey.key.extractable).toBe(false);
          await expect(signer.cryptoKey.crypto.subtle.exportKey('pkcs8', signer.cryptoKey.key)).rejects.toThrow();
        }
        expect(Object.keys(signer)).not.toContain('privateKey');
      } finally {
        await ks.close();
      }
    });

    it('fail/unknown label gives a clear notFound error', async () => {
      const ks = await h.open(h.secret);
      try {
        const err = await ks.getSigner({ label: 'no-such-key' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CaError);
        expect((err as CaError).kind).toBe('notFound');
        expect((err as CaError).detail).toMatch(/no-such-key/);
      } finally {
        await ks.close();
      }
    });

    it('fail/labels that could escape the store are refused', async () => {
      const ks = await h.open(h.secret);
      try {
        for (const label of ['../evil', 'a/b', '', '.hidden', 'x'.repeat(65)]) {
          await expect(ks.createKey({ label, alg: h.algs[0]! })).rejects.toMatchObject({ kind: 'malformed' });
        }
      } finally {
        await ks.close();
      }
    });

    it('fail/creating an existing label does not replace the key', async () => {
      const ks = await h.open(h.secret);
      try {
        const label = `dup-${randomBytes(4).toString('hex')}`;
        const first = await ks.createKey({ label, alg: h.algs[0]! });
        await expect(ks.createKey({ label, alg: h.algs[0]! })).rejects.toMatchObject({ kind: 'conflict' });
        const again = await ks.getPublicKey({ label });
        expect(Buffer.from(again.publicKeySpki)).toEqual(Buffer.from(first.publicKeySpki));
      } finally {
        await ks.close();
      }
    });

    it('fail/the wrong secret gives a clear error, never a working signer', async () => {
      const label = `secret-${randomBytes(4).toString('hex')}`;
      const ks = await h.open(h.secret);
      await ks.createKey({ label, alg: h.algs[0]! });
      await ks.close();
      const err = await h
        .open(h.wrongSecret)
        .then(async (bad) => {
          try {
            return await bad.getSigner({ label });
          } finally {
            await bad.close();
          }
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CaError);
      expect((err as CaError).detail).toMatch(/passphrase|PIN|secret/i);
    });
  });
}
