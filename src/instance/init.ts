import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import type { KeyAlg } from '../domain/algorithms.ts';
import { Checkpointer } from '../authority/checkpoints.ts';
import { publishVerifierKey } from './log-audit.ts';
import { FileKeyStore } from '../keystore/file.ts';
import { openKeyStore, type KeyStore } from '../keystore/keystore.ts';
import '../keystore/pkcs11.ts';
import { keyIdentifier } from '../x509/certificate.ts';
import { assertNoInstance, openStore } from '../store/store.ts';
import { configSchema, type Config } from '../config/config.ts';
import { issueCaCertificate } from '../authority/ca-certificates.ts';
import { parseSubtree, type NameConstraints } from '../authority/name-constraints.ts';
import { createTokenSigningKey } from '../authority/token-signing.ts';
import { databaseLocation, LAYOUT } from './layout.ts';
import { generatePassphrase } from './secrets.ts';
import { writeFileDurably } from '../domain/durable-file.ts';

const YEAR = 365 * 24 * 3_600_000;

export interface InitOptions {
  dir: string;
  name?: string;
  keyAlg?: KeyAlg;
  baseUrl?: string;
  /** Unlocks the key stores; generated into DIR/secrets/passphrase when absent. */
  passphrase?: string;
  rootLifetimeMs?: number;
  intermediateLifetimeMs?: number;
  keyStore?: { type: string; settings?: Record<string, unknown>; secret?: string };
  /** Create the root key in `keyStore` too (e.g. on the HSM) instead of as an encrypted file. */
  rootInKeyStore?: boolean;
  /** ACME newAccount requires external account binding (default true; a quick-start may turn it off). */
  requireEab?: boolean;
  /** Name constraints for the intermediate (`dns:…`, `ip:…/n`, `uri:…`): RFC 5280 §4.2.1.10 subtrees. */
  nameConstraints?: { permit?: string[]; exclude?: string[] };
  /** A postgres:// URL for replicas (an empty database); default: DIR/pki.db (SQLite). */
  database?: string;
  clock?: Clock;
}

export interface InitResult {
  dir: string;
  rootFingerprint: string; // SHA-256, colon-separated hex
  generatedPassphraseFile: string | null;
  /** Where the root key lives: 'file' (rootKey is its path) or the key store type (rootKey is its label). */
  rootKeyStore: string;
  paths: { config: string; database: string; rootCert: string; intermediateCert: string; chain: string; rootKey: string };
}

/**
 * Creates a CA instance: config, database, a self-signed root and an intermediate
 * (pathLen 0) whose key goes into the configured key store. Refuses a directory
 * that already holds anything, so an existing instance is never touched.
 */
export async function initInstance(o: InitOptions): Promise<InitResult> {
  const dir = resolve(o.dir);
  const clock = o.clock ?? systemClock;
  const name = o.name ?? 'Example Internal CA';
  const keyAlg = o.keyAlg ?? 'ecdsa-p256';
  const baseUrl = (o.baseUrl ?? 'http://127.0.0.1:9080').replace(/\/+$/, '');
  if (!/^http:\/\/[^/]+$/.test(baseUrl)) throw new CaError('malformed', `--url must be a plain http://HOST:PORT base URL, got "${o.baseUrl}"`);
  const nameConstraints = nameConstraintsFrom(o.nameConstraints);

  const existing = await readdir(dir).catch(() => null);
  if (existing && existing.length > 0) {
    throw new CaError('conflict', `${dir} is not empty: refusing to overwrite an existing instance (choose a new --dir)`);
  }
  // Before anything is created: a database holding another instance (or unreachable) leaves no half-made directory.
  if (o.database) assertNoInstance(databaseLocation(dir, o.database));
  const keyStoreType = o.keyStore?.type ?? 'file';
  const keyStoreSettings = o.keyStore?.settings ?? { dir: LAYOUT.keys };
  // A store that is not files (an HSM) opens before anything is written: a wrong PIN or token leaves no half-made instance.
  const earlyKeyStore = keyStoreType === 'file' ? null : await openKeyStore(keyStoreType, { baseDir: dir, settings: keyStoreSettings, secret: o.keyStore?.secret ?? '' });
  try {
    return await createInstance(o, { dir, clock, name, keyAlg, baseUrl, keyStoreType, keyStoreSettings, earlyKeyStore, nameConstraints });
  } finally {
    await earlyKeyStore?.close();
  }
}

async function createInstance(
  o: InitOptions,
  c: { dir: string; clock: Clock; name: string; keyAlg: KeyAlg; baseUrl: string; keyStoreType: string; keyStoreSettings: Record<string, unknown>; earlyKeyStore: KeyStore | null; nameConstraints?: NameConstraints },
): Promise<InitResult> {
  const { dir, clock, name, keyAlg, baseUrl, keyStoreType, keyStoreSettings } = c;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const sub of ['ca', 'secrets', LAYOUT.rootKeyDir, LAYOUT.keys]) await mkdir(join(dir, sub), { mode: 0o700 });

  const rootInKeyStore = o.rootInKeyStore === true && keyStoreType !== 'file';
  // A passphrase is needed only for keys kept as encrypted files.
  const needsPassphrase = keyStoreType === 'file' || !rootInKeyStore;
  let passphrase = o.passphrase ?? '';
  let generatedPassphraseFile: string | null = null;
  if (!passphrase && needsPassphrase) {
    passphrase = generatePassphrase();
    generatedPassphraseFile = join(dir, LAYOUT.passphrase);
    // Durably (file and directory fsync'd): the keys about to be encrypted with it are only as safe as it is.
    await writeFileDurably(generatedPassphraseFile, passphrase + '\n', { mode: 0o600, exclusive: true });
  }

  const database = o.database ?? LAYOUT.database;
  const store = openStore(databaseLocation(dir, database), { create: true });
  const keyStore = c.earlyKeyStore ?? (await openKeyStore(keyStoreType, { baseDir: dir, settings: keyStoreSettings, secret: o.keyStore?.secret ?? passphrase }));
  const rootStore = rootInKeyStore ? keyStore : new FileKeyStore(join(dir, LAYOUT.rootKeyDir), passphrase);
  try {
    const rootKey = await rootStore.createKey({ label: LAYOUT.rootKeyLabel, alg: keyAlg });
    const root = await issueCaCertificate({
      store,
      clock,
      subjectName: `CN=${escapeDn(name)} Root, O=${escapeDn(name)}`,
      subjectSpki: rootKey.publicKeySpki,
      lifetimeMs: o.rootLifetimeMs ?? 10 * YEAR,
      keyStore: rootStore,
      signingKey: LAYOUT.rootKeyLabel,
      profile: 'root',
    });
    const interKey = await keyStore.createKey({ label: LAYOUT.intermediateKeyLabel, alg: keyAlg });
    const intermediate = await issueCaCertificate({
      store,
      clock,
      subjectName: `CN=${escapeDn(name)} Intermediate, O=${escapeDn(name)}`,
      subjectSpki: interKey.publicKeySpki,
      lifetimeMs: o.intermediateLifetimeMs ?? 5 * YEAR,
      issuer: { certificate: root, keyId: keyIdentifier(rootKey.publicKeySpki) },
      keyStore: rootStore,
      signingKey: LAYOUT.rootKeyLabel,
      pathLength: 0,
      nameConstraints: c.nameConstraints,
      profile: 'intermediate',
    });
    const rootPem = root.toString('pem') + '\n';
    const interPem = intermediate.toString('pem') + '\n';
    await writeFile(join(dir, LAYOUT.rootCert), rootPem);
    await writeFile(join(dir, LAYOUT.intermediateCert), interPem);
    await writeFile(join(dir, LAYOUT.chain), interPem + rootPem);

    // Parsed through the schema, so the file shows every setting with the schema's default.
    const config: Config = configSchema.parse({
      version: 1,
      name,
      baseUrl,
      database,
      keyStore: { type: keyStoreType, ...keyStoreSettings, ...(generatedPassphraseFile && keyStoreType === 'file' ? { passphraseFile: LAYOUT.passphrase } : {}) },
      root: rootInKeyStore
        ? { certificate: LAYOUT.rootCert, keyLabel: LAYOUT.rootKeyLabel, keyAlg }
        : { certificate: LAYOUT.rootCert, keyFile: join(LAYOUT.rootKeyDir, `${LAYOUT.rootKeyLabel}.key.pem`), keyAlg },
      intermediate: { certificate: LAYOUT.intermediateCert, keyLabel: LAYOUT.intermediateKeyLabel, keyAlg },
      http: { host: new URL(baseUrl).hostname, port: Number(new URL(baseUrl).port || 80) },
      acme: { requireEab: o.requireEab ?? true },
      log: { origin: `${new URL(baseUrl).host}/log` },
    });
    const rootFingerprint = Buffer.from(await root.getThumbprint('SHA-256')).toString('hex').toUpperCase().match(/../g)!.join(':');
    store.transaction(() => {
      store.audit.append({ at: clock.now(), action: 'ca.initialized', actor: 'cli', target: null, details: { name, keyAlg, baseUrl, keyStore: keyStoreType, rootFingerprint, ...(o.nameConstraints ? { nameConstraints: o.nameConstraints } : {}) } });
      for (const [role, k] of [['root', rootKey], ['intermediate', interKey]] as const) {
        const spkiSha256 = createHash('sha256').update(k.publicKeySpki).digest('hex');
        store.audit.append({ at: clock.now(), action: 'keystore.key.created', actor: 'cli', target: k.label, details: { role, alg: k.alg, store: k.store, spkiSha256 } });
      }
    });
    // The OAuth token-signing key (ES256, docs/oauth.md), in the same key store as the intermediate.
    await createTokenSigningKey(keyStore, store, clock, 'cli');
    // The transparency log's key (Ed25519, beside the issuer key) and its first signed checkpoint (#17).
    const log = await Checkpointer.open({ store, keyStore, keyLabel: config.log.keyLabel, origin: config.log.origin!, clock });
    await log?.signNow();
    if (log) await publishVerifierKey(dir, log.verifierKey);
    // The config is written last: its presence marks a complete instance.
    await writeFile(join(dir, LAYOUT.config), JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    if (database === LAYOUT.database) await chmod(join(dir, LAYOUT.database), 0o600);
    return {
      dir,
      rootFingerprint,
      generatedPassphraseFile,
      rootKeyStore: rootInKeyStore ? keyStoreType : 'file',
      paths: {
        config: join(dir, LAYOUT.config),
        database: database === LAYOUT.database ? join(dir, LAYOUT.database) : store.db.name,
        rootCert: join(dir, LAYOUT.rootCert),
        intermediateCert: join(dir, LAYOUT.intermediateCert),
        chain: join(dir, LAYOUT.chain),
        rootKey: config.root.keyFile ? join(dir, config.root.keyFile) : LAYOUT.rootKeyLabel,
      },
    };
  } finally {
    store.close();
    if (!c.earlyKeyStore) await keyStore.close();
  }
}

/** The --permit / --exclude subtrees, checked before anything is written; undefined when there are none. */
function nameConstraintsFrom(o: InitOptions['nameConstraints']): NameConstraints | undefined {
  const permitted = (o?.permit ?? []).map(parseSubtree);
  const excluded = (o?.exclude ?? []).map(parseSubtree);
  return permitted.length || excluded.length ? { permitted, excluded } : undefined;
}

/** Escapes characters that are special in an RFC 4514 string. */
function escapeDn(s: string): string {
  return s.replace(/([,+"\\<>;=])/g, '\\$1');
}
