import { hkdfSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** DIR/secrets/acme.key: 32 random bytes, mode 0600, created on first use; never in the database. */
export const ACME_KEY_FILE = 'secrets/acme.key';

/**
 * The ACME server's own secret, from which purpose-bound subkeys are derived
 * (HKDF-SHA256): nonce MACs, and sealing EAB keys at rest, so a copy of the
 * database alone neither forges nonces nor binds accounts.
 */
export async function acmeSecretKeys(dir: string): Promise<{ nonceKey: Uint8Array; eabSealKey: Uint8Array }> {
  const path = join(dir, ACME_KEY_FILE);
  let master: Buffer;
  try {
    master = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    try {
      await writeFile(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch (w) {
      if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw w;
    }
    master = await readFile(path);
  }
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  return { nonceKey: derive('pki acme nonce v1'), eabSealKey: derive('pki acme eab seal v1') };
}
