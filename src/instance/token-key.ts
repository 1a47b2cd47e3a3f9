import { resolve } from 'node:path';
import { createTokenSigningKey, PUBLISH_AHEAD_MS } from '../authority/token-signing.ts';
import { loadConfig } from '../config/config.ts';
import { systemClock } from '../domain/clock.ts';
import { openKeyStore } from '../keystore/keystore.ts';
import '../keystore/file.ts';
import '../keystore/pkcs11.ts';
import { OAuthRepository } from '../store/oauth-grants.ts';
import { openStore } from '../store/store.ts';
import { resolveKeyStoreSecret } from './secrets.ts';
import { databaseLocation } from './layout.ts';

/**
 * `pki keys rotate-token`: a new ES256 token-signing key in the instance's key store, published in
 * the JWKS at once (a running `pki serve` re-reads the keys every 10 s) and signing a minute later
 * (PUBLISH_AHEAD_MS); the previous keys retire then and stay in the JWKS until the longest token
 * they signed has expired (15 min). An instance with no key (made before OAuth) gets one that
 * signs at once.
 */
export async function rotateTokenKey(o: { dir: string; passphraseFile?: string; env?: NodeJS.ProcessEnv }): Promise<{ label: string; kid: string; retired: number; signsFrom: Date }> {
  const dir = resolve(o.dir);
  const config = await loadConfig(dir);
  const { type, ...settings } = config.keyStore;
  const secret = await resolveKeyStoreSecret({ dir, keyStore: config.keyStore, passphraseFile: o.passphraseFile, env: o.env });
  const store = openStore(databaseLocation(dir, config.database));
  try {
    const keyStore = await openKeyStore(type, { baseDir: dir, settings, secret });
    try {
      const first = !new OAuthRepository(store.db).signingKeys().some((k) => k.retiredAt === null);
      return await createTokenSigningKey(keyStore, store, systemClock, 'cli', { aheadMs: first ? 0 : PUBLISH_AHEAD_MS });
    } finally {
      await keyStore.close();
    }
  } finally {
    store.close();
  }
}
