import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CaError } from '../domain/errors.ts';

export const PASSPHRASE_ENV = 'PKI_PASSPHRASE';

/** A new random passphrase for the key store (256 bits, base64url). */
export function generatePassphrase(): string {
  return randomBytes(32).toString('base64url');
}

/** Reads a secret file, refusing one that others can read (it unlocks CA keys). Trailing newlines are not part of the secret. */
export async function readSecretFile(path: string): Promise<string> {
  let text: string;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) throw new CaError('config', `${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof CaError) throw e;
    throw new CaError('config', `cannot read secret file ${path}: ${(e as Error).message}`);
  }
  const secret = text.replace(/[\r\n]+$/, '');
  if (!secret) throw new CaError('config', `secret file ${path} is empty`);
  return secret;
}

/**
 * The key store passphrase, from (in order) the PKI_PASSPHRASE environment variable,
 * an explicit --passphrase-file, or the file the instance's config names.
 */
export async function resolvePassphrase(p: { dir: string; passphraseFile?: string; configFile?: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  const env = p.env ?? process.env;
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv) return fromEnv;
  if (p.passphraseFile) return readSecretFile(resolve(p.passphraseFile));
  if (p.configFile) return readSecretFile(resolve(p.dir, p.configFile));
  throw new CaError('config', `no passphrase: set ${PASSPHRASE_ENV} or pass --passphrase-file`);
}

/**
 * The PKCS#11 user PIN, from the environment variable (`pinEnv`) or the mode-0600 file
 * (`pinFile`, relative to the instance) that the key store settings name. The PIN itself
 * is never in the config.
 */
export async function resolvePin(p: { dir: string; pinEnv?: unknown; pinFile?: unknown; env?: NodeJS.ProcessEnv }): Promise<string> {
  const env = p.env ?? process.env;
  if (typeof p.pinEnv === 'string' && p.pinEnv) {
    const pin = env[p.pinEnv];
    if (pin) return pin;
    if (typeof p.pinFile !== 'string') throw new CaError('config', `no PKCS#11 PIN: the environment variable ${p.pinEnv} (keyStore.pinEnv) is not set`);
  }
  if (typeof p.pinFile === 'string' && p.pinFile) return readSecretFile(resolve(p.dir, p.pinFile));
  throw new CaError('config', 'no PKCS#11 PIN: set keyStore.pinEnv (an environment variable name) or keyStore.pinFile in the config');
}

/** The secret that unlocks an instance's key store: the PKCS#11 PIN for a pkcs11 store, else the file passphrase. */
export async function resolveKeyStoreSecret(p: {
  dir: string;
  keyStore: { type: string; passphraseFile?: string; pinEnv?: unknown; pinFile?: unknown };
  passphraseFile?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<string> {
  if (p.keyStore.type === 'pkcs11') return resolvePin({ dir: p.dir, pinEnv: p.keyStore.pinEnv, pinFile: p.keyStore.pinFile, env: p.env });
  return resolvePassphrase({ dir: p.dir, passphraseFile: p.passphraseFile, configFile: p.keyStore.passphraseFile, env: p.env });
}
