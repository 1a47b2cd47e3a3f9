import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Authority } from '../authority/authority.ts';
import { issuerUrls } from '../authority/profiles.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { parseDuration } from '../domain/duration.ts';
import { CaError } from '../domain/errors.ts';
import type { Logger } from '../domain/log.ts';
import { openKeyStore, type KeyStore } from '../keystore/keystore.ts';
import '../keystore/file.ts';
import '../keystore/pkcs11.ts';
import { CaMetrics } from '../metrics/metrics.ts';
import { signMetrics } from '../metrics/signer.ts';
import { x509 } from '../x509/x509.ts';
import { openGroupCommitStore, openStore, type Store } from '../store/store.ts';
import { publishVerifierKey } from './log-audit.ts';
import { resolveKeyStoreSecret } from './secrets.ts';
import { databaseLocation } from './layout.ts';

/** For the edges (the CLI): a SQLite error as a CaError naming the database. */
export { databaseFailure } from '../store/sqlite.ts';

/** A running CA instance: everything wired, ready to issue and to serve. */
export interface CaInstance {
  dir: string;
  config: Config;
  store: Store;
  /**
   * The connection issuance writes through (synchronous=NORMAL with group commit: Store.durably).
   * `pki serve` puts its other hot-path writes (ACME bookkeeping) on it too, so one connection's
   * page cache stays warm instead of each being emptied by the others' commits.
   */
  issuanceStore: Store;
  keyStore: KeyStore;
  authority: Authority;
  root: x509.X509Certificate;
  intermediate: x509.X509Certificate;
  clock: Clock;
  /** Prometheus metrics of this instance (served at /metrics by startServer). */
  metrics: CaMetrics;
  close(): Promise<void>;
}

export interface OpenOptions {
  dir: string;
  passphraseFile?: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Where the authority logs what fails after a commit (an observer); silent by default. */
  logger?: Logger;
}

/** Opens an instance: config → store → key store → authority (which takes the issuing key's signer itself). */
export async function openInstance(o: OpenOptions): Promise<CaInstance> {
  const dir = resolve(o.dir);
  const config = await loadConfig(dir);
  const clock = o.clock ?? systemClock;
  const { type, ...settings } = config.keyStore;
  const secret = await resolveKeyStoreSecret({ dir, keyStore: config.keyStore, passphraseFile: o.passphraseFile, env: o.env });
  const root = await readCertificate(resolve(dir, config.root.certificate));
  const intermediate = await readCertificate(resolve(dir, config.intermediate.certificate));

  const store = openStore(databaseLocation(dir, config.database));
  // The authority writes through its own connection with group commit (Store.durably): as durable
  // as synchronous=FULL, but the disk wait leaves the event loop and concurrent issuances share it.
  const issuanceStore = openGroupCommitStore(store.db);
  let keyStore: KeyStore | undefined;
  try {
    keyStore = await openKeyStore(type, { baseDir: dir, settings, secret });
    const metrics = new CaMetrics();
    const authority = await Authority.open({
      store: issuanceStore,
      clock,
      keyStore,
      keyLabel: config.intermediate.keyLabel,
      certificate: intermediate,
      urls: (keyId) => issuerUrls(config.baseUrl, keyId),
      crlShards: config.crl.shards,
      defaultLifetimeMs: parseDuration(config.issuance.lifetime),
      maxLifetimeMs: parseDuration(config.issuance.maxLifetime),
      logger: o.logger,
      onSign: signMetrics(metrics),
      log: { keyLabel: config.log.keyLabel, origin: logOrigin(config) },
    });
    if (authority.log) await publishVerifierKey(dir, authority.log.verifierKey);
    const ks = keyStore;
    return {
      dir,
      config,
      store,
      issuanceStore,
      keyStore: ks,
      authority,
      root,
      intermediate,
      clock,
      metrics,
      close: async () => {
        // Sign what this process appended, so a clean stop leaves the log covered.
        await authority.log?.stop();
        await ks.close();
        issuanceStore.close();
        store.close();
      },
    };
  } catch (e) {
    await keyStore?.close();
    issuanceStore.close();
    store.close();
    throw e;
  }
}

/** The checkpoint origin (C2SP tlog-checkpoint): configured, or the base URL's host and port + "/log". */
export function logOrigin(config: Config): string {
  return config.log.origin ?? `${new URL(config.baseUrl).host}/log`;
}

async function readCertificate(path: string): Promise<x509.X509Certificate> {
  try {
    return new x509.X509Certificate(await readFile(path, 'utf8'));
  } catch (e) {
    throw new CaError('config', `cannot read CA certificate ${path}: ${(e as Error).message}`);
  }
}
