import { hkdfSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../domain/durable-file.ts';
import { CaError } from '../domain/errors.ts';

/** DIR/secrets/acme.key: 32 random bytes, mode 0600, created on first use; never in the database. */
export const ACME_KEY_FILE = 'secrets/acme.key';
const KEY_BYTES = 32;

/**
 * The ACME server's own secret, from which purpose-bound subkeys are derived
 * (HKDF-SHA256): nonce MACs, and sealing EAB keys at rest, so a copy of the
 * database alone neither forges nonces nor binds accounts.
 */
export async function acmeSecretKeys(dir: string): Promise<{ nonceKey: Uint8Array; eabSealKey: Uint8Array }> {
  const master = await readOrCreate(join(dir, ACME_KEY_FILE));
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  return { nonceKey: derive('pki acme nonce v1'), eabSealKey: derive('pki acme eab seal v1') };
}

/**
 * The key file's bytes, created (durably, atomically, never over another process's) when absent.
 * A file that is there but too short is refused, never used nor replaced: an empty key would make
 * the sealed EAB MACs readable from the database alone, and a new one would orphan them all.
 */
async function readOrCreate(path: string): Promise<Buffer> {
  let master: Buffer;
  try {
    master = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CaError('config', `cannot read the ACME secret key ${path}: ${(e as Error).message}`);
    try {
      await writeFileDurably(path, randomBytes(KEY_BYTES), { mode: 0o600, exclusive: true });
    } catch (w) {
      if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw new CaError('config', `cannot create the ACME secret key ${path}: ${(w as Error).message}`);
    }
    master = await readFile(path);
  }
  if (master.length < KEY_BYTES) {
    throw new CaError('config', `the ACME secret key ${path} holds ${master.length} bytes, fewer than ${KEY_BYTES}: it is damaged; restore it from a backup (a new key would make every stored EAB key unusable)`);
  }
  return master;
}
