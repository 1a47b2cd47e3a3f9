import type { Clock } from '../domain/clock.ts';
import { parseDuration, parseDurationOrZero } from '../domain/duration.ts';
import type { Logger } from '../domain/log.ts';
import { AcmeStore } from '../store/acme-store.ts';
import { openAcmeConnection } from '../store/acme-connection.ts';
import type { Db } from '../store/sqlite.ts';
import type { AcmeAuthority, AcmeContext, AcmeWorkloadTokens, CertificateLookup } from './context.ts';
import { AcmeLinks } from './links.ts';
import { NonceService } from './nonces.ts';
import { AcmeReconciler } from './reconcile.ts';
import { acmeSecretKeys } from './secret-key.ts';
import type { AcmeConfig } from '../config/acme.ts';
import { Dns01Validator } from './validation/dns-01.ts';
import { Http01Validator } from './validation/http-01.ts';
import { ValidationQueue } from './validation/queue.ts';
import { makeResolver } from './validation/resolve.ts';
import { Tkauth01Validator } from './validation/tkauth-01.ts';
import { TlsAlpn01Validator } from './validation/tls-alpn-01.ts';
import type { ValidationSettings } from './validation/validator.ts';

export interface AcmeDeps {
  /** Instance directory (for secrets/acme.key). */
  dir: string;
  db: Db;
  /** A synchronous=NORMAL connection to use for the ACME tables instead of opening one (kept open on close). */
  connection?: Db;
  authority: AcmeAuthority;
  certificates: CertificateLookup;
  clock: Clock;
  logger: Logger;
  intermediatePem: string;
  config: AcmeConfig;
  defaultProfile: string;
  /** https://HOST:PORT the clients use. */
  origin: string;
  /** How often stranded orders and challenges are reconciled after the first pass at start (0 = only at start). */
  reconcileIntervalMs?: number;
  /** Workload identity tokens (RFC 9447 tkauth-01), from src/identity/ through the composition root. */
  workloadTokens?: AcmeWorkloadTokens;
}

/** Stranded work is looked for this often; the first pass runs when the service starts. */
const RECONCILE_INTERVAL_MS = 60_000;

export interface AcmeService {
  ctx: AcmeContext;
  validations: ValidationQueue;
  reconciler: AcmeReconciler;
  /** Waits for validations under way, then closes the ACME connection. */
  close(): Promise<void>;
}

/** Wires the ACME handlers' context: store, nonces, validators, links. */
export async function createAcmeService(d: AcmeDeps): Promise<AcmeService> {
  const db = d.connection ?? openAcmeConnection(d.db);
  const store = new AcmeStore(db);
  const keys = await acmeSecretKeys(d.dir);
  const vs: ValidationSettings = {
    http01Port: d.config.http01Port,
    tlsAlpn01Port: d.config.tlsAlpn01Port,
    dnsServer: d.config.dnsServer,
    timeoutMs: parseDuration(d.config.validationTimeout),
  };
  const resolver = makeResolver(vs.dnsServer, vs.timeoutMs);
  const validations = new ValidationQueue({
    validators: [
      new Http01Validator(vs, resolver),
      new Dns01Validator(resolver),
      new TlsAlpn01Validator(vs, resolver),
      ...(d.workloadTokens ? [new Tkauth01Validator(d.workloadTokens, (o) => store.transaction(() => store.audit.append({ at: d.clock.now(), action: o.valid ? 'acme.tkauth.valid' : 'acme.tkauth.invalid', actor: o.accountId ? `acme:${o.accountId}` : 'acme', target: o.identifier, details: { subject: o.subject, detail: o.detail } })))] : []),
    ],
    store,
    clock: d.clock,
    logger: d.logger,
  });
  const ctx: AcmeContext = {
    store,
    certificates: d.certificates,
    authority: d.authority,
    links: new AcmeLinks(d.origin),
    nonces: new NonceService({ key: keys.nonceKey, spent: store.nonces, clock: d.clock, lifetimeMs: parseDuration(d.config.nonceLifetime) }),
    clock: d.clock,
    logger: d.logger,
    settings: {
      requireEab: d.config.requireEab,
      orderLifetimeMs: parseDuration(d.config.orderLifetime),
      authzLifetimeMs: parseDuration(d.config.authzLifetime),
      defaultProfile: d.defaultProfile,
      website: d.config.website,
      retryAfterS: 1,
      challengeWaitMs: parseDurationOrZero(d.config.challengeWait),
    },
    validations,
    eabSealKey: keys.eabSealKey,
    finalizing: new Set(),
    intermediatePem: d.intermediatePem,
    ...(d.workloadTokens ? { workloadTokens: d.workloadTokens } : {}),
  };
  // Work a crash left in flight is finished or failed before the first request (reconcile.ts).
  const reconciler = new AcmeReconciler({ store, certificates: d.certificates, validations, finalizing: ctx.finalizing, clock: d.clock, logger: d.logger });
  reconciler.start(d.reconcileIntervalMs ?? RECONCILE_INTERVAL_MS);
  return {
    ctx,
    validations,
    reconciler,
    close: async () => {
      reconciler.stop();
      await validations.drain();
      if (!d.connection) db.close();
    },
  };
}
