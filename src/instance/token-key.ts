import { resolve } from 'node:path';
import { createTokenSigningKey } from '../authority/token-signing.ts';
import { loadConfig } from '../config/config.ts';
import { systemClock } from '../domain/clock.ts';
import { openKeyStore } from '../keystore/keystore.ts';
import '../keystore/file.ts';
import '../keystore/pkcs11.ts';
import { openStore } from '../store/store.ts';
import { resolveKeyStoreSecret } from './secrets.ts';

/**
 * `pki keys rotate-token`: a new ES256 token-signing key in the instance's key store signs from
 * now on (a running `pki serve` picks it up within 10 s); the previous keys retire and stay in the
 * JWKS until the longest token they signed has expired (15 min). Also creates the first key of an
 * instance made before OAuth existed.
 */
export async function rotateTokenKey(o: { dir: string; passphraseFile?: string; env?: NodeJS.ProcessEnv }): Promise<{ label: string; kid: string; retired: number }> {
  const dir = resolve(o.dir);
  const config = await loadConfig(dir);
  const { type, ...settings } = config.keyStore;
  const secret = await resolveKeyStoreSecret({ dir, keyStore: config.keyStore, passphraseFile: o.passphraseFile, env: o.env });
  const store = openStore(resolve(dir, config.database));
  try {
    const keyStore = await openKeyStore(type, { baseDir: dir, settings, secret });
    try {
      return await createTokenSigningKey(keyStore, store, systemClock, 'cli');
    } finally {
      await keyStore.close();
    }
  } finally {
    store.close();
  }
}
