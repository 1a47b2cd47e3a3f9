import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenSigningKeys } from '../../src/authority/token-signing.ts';
import { initInstance, openInstance } from '../../src/index.ts';
import { createTestToken, hasSoftHsm } from '../helpers/softhsm.ts';
import { tempDir } from '../helpers/tmp.ts';

const available = hasSoftHsm();

// skips only locally: hasTool() throws when CI is set
describe.skipIf(!available)('the token-signing key on a PKCS#11 token (SoftHSM2)', () => { // skips only locally: the tool check throws when CI is set
  // Made before anything in this process loads the library, so it sees the token.
  const token = available ? createTestToken() : null!;

  it('ok/pki init puts the ES256 key on the token; its signature (DER from the HSM, made JOSE r||s) verifies with jose', async () => {
    const dir = join(tempDir(), 'ca');
    const settings = { module: token.module, token: token.label, pinEnv: 'PKI_PKCS11_PIN' };
    await initInstance({ dir, passphrase: 'pkcs11-test-passphrase', keyStore: { type: 'pkcs11', settings, secret: token.pin } });
    const ca = await openInstance({ dir, env: { PKI_PKCS11_PIN: token.pin, PKI_PASSPHRASE: 'pkcs11-test-passphrase' } });
    try {
      const onToken = (await ca.keyStore.listKeys()).map((k) => k.label);
      const keys = await TokenSigningKeys.open({ keyStore: ca.keyStore, store: ca.store, clock: ca.clock, overlapMs: 900_000 });
      const label = (ca.store.db.prepare('SELECT label FROM oauth_signing_keys').get() as { label: string }).label;
      expect(onToken).toContain(label);
      for (let i = 0; i < 20; i++) {
        const jwt = await keys.signAccessToken({ n: i, exp: Math.floor(Date.now() / 1000) + 60 });
        await jwtVerify(jwt, createLocalJWKSet(keys.jwks() as never), { typ: 'at+jwt', algorithms: ['ES256'] });
      }
    } finally {
      await ca.close();
    }
  }, 120_000);
});
