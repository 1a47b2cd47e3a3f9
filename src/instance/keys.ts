import { createHash, createPublicKey } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { loadConfig } from '../config/config.ts';
import { CaError } from '../domain/errors.ts';
import { keyAlgOf } from '../domain/algorithms.ts';
import { openKeyStore, type KeyStore } from '../keystore/keystore.ts';
import { FileKeyStore } from '../keystore/file.ts';
import '../keystore/pkcs11.ts';
import { x509 } from '../x509/x509.ts';
import { LAYOUT } from './layout.ts';
import { resolveKeyStoreSecret } from './secrets.ts';

/** One CA key an instance uses, as `pki keys list` shows it. */
export interface KeyInUse {
  role: 'root' | 'intermediate';
  label: string;
  /** 'file' or the key store type ('pkcs11'). */
  store: string;
  /** Key file path (file keys) or token label / slot (pkcs11). */
  location: string;
  algorithm: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, colon-separated hex (as `openssl pkey -pubin -outform DER | sha256sum`). */
  spkiSha256: string;
  /**
   * ok: the key is in its store and matches the certificate; offline: a root key file not on
   * this machine (the public key comes from the certificate); mismatch: the store's key is not the certificate's.
   */
  status: 'ok' | 'offline' | 'mismatch';
}

/**
 * The keys an instance uses and where they live. The key store is opened (so the listing proves
 * the intermediate key is really there and matches its certificate); an offline root key file is
 * described from the root certificate.
 */
export async function listKeysInUse(o: { dir: string; passphraseFile?: string; env?: NodeJS.ProcessEnv }): Promise<KeyInUse[]> {
  const dir = resolve(o.dir);
  const config = await loadConfig(dir);
  const { type, ...settings } = config.keyStore;
  const secret = await resolveKeyStoreSecret({ dir, keyStore: config.keyStore, passphraseFile: o.passphraseFile, env: o.env });
  const location = type === 'pkcs11' ? (settings.token !== undefined ? `token "${String(settings.token)}"` : `slot ${String(settings.slot)}`) : resolve(dir, settings.dir ?? 'keys');
  const rootCert = await readCertificateSpki(resolve(dir, config.root.certificate));
  const interCert = await readCertificateSpki(resolve(dir, config.intermediate.certificate));

  const keyStore: KeyStore = await openKeyStore(type, { baseDir: dir, settings, secret });
  try {
    const inStore = async (role: KeyInUse['role'], label: string, certSpki: Uint8Array): Promise<KeyInUse> => {
      const info = await keyStore.getPublicKey({ label });
      const same = Buffer.from(info.publicKeySpki).equals(Buffer.from(certSpki));
      return { role, label, store: type, location, algorithm: info.alg, spkiSha256: fingerprint(info.publicKeySpki), status: same ? 'ok' : 'mismatch' };
    };
    const keys: KeyInUse[] = [];
    if (config.root.keyLabel) {
      keys.push(await inStore('root', config.root.keyLabel, rootCert));
    } else {
      const path = resolve(dir, config.root.keyFile ?? '');
      const present = config.root.keyFile ? await access(path).then(() => true, () => false) : false;
      keys.push({ role: 'root', label: 'root', store: 'file', location: path, algorithm: algorithmOf(rootCert), spkiSha256: fingerprint(rootCert), status: present ? 'ok' : 'offline' });
    }
    keys.push(await inStore('intermediate', config.intermediate.keyLabel, interCert));
    return keys;
  } finally {
    await keyStore.close();
  }
}

async function readCertificateSpki(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(new x509.X509Certificate(await readFile(path, 'utf8')).publicKey.rawData);
  } catch (e) {
    throw new CaError('config', `cannot read CA certificate ${path}: ${(e as Error).message}`);
  }
}

function algorithmOf(spki: Uint8Array): string {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return keyAlgOf({ type: key.asymmetricKeyType, ...key.asymmetricKeyDetails }) ?? String(key.asymmetricKeyType);
}

function fingerprint(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest('hex').toUpperCase().match(/../g)!.join(':');
}

/**
 * Re-encrypts the instance's key files at the current KDF setting (`pki keys rewrap`): every key
 * of a file key store, and the root key file when it is on this machine and shares that
 * passphrase. Keys are also re-wrapped on first unlock; this does all of them now, and fails
 * loudly where the implicit path only retries later. Returns the files rewritten.
 */
export async function rewrapKeyFiles(o: { dir: string; passphraseFile?: string; env?: NodeJS.ProcessEnv }): Promise<string[]> {
  const dir = resolve(o.dir);
  const config = await loadConfig(dir);
  if (config.keyStore.type !== 'file') throw new CaError('config', `key store "${config.keyStore.type}" keeps no key files: nothing to re-wrap`);
  const secret = await resolveKeyStoreSecret({ dir, keyStore: config.keyStore, passphraseFile: o.passphraseFile, env: o.env });
  const stores = [resolve(dir, config.keyStore.dir ?? LAYOUT.keys)];
  if (config.root.keyFile && (await access(resolve(dir, config.root.keyFile)).then(() => true, () => false))) stores.push(dirname(resolve(dir, config.root.keyFile)));
  const rewritten: string[] = [];
  for (const keys of stores) {
    for (const label of await new FileKeyStore(keys, secret).rewrapKeys()) rewritten.push(relative(dir, join(keys, `${label}.key.pem`)));
  }
  return rewritten;
}
