import { CaError } from '../domain/errors.ts';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { workerEntryPath } from '../domain/runtime-files.ts';
import { createApp } from '../http/plain-app.ts';
import { caCertificatesOf } from '../http/routes/ca-certificates.ts';
import type { AcmeListener } from '../http/acme-https/listener.ts';
import { startAcme } from './acme.ts';
import { acmeSecretKeys } from '../acme/secret-key.ts';
import type { AcmeConfig } from '../config/acme.ts';
import type { CaInstance } from './open.ts';
import type { Logger } from '../domain/log.ts';
import { OcspHttpHandler } from '../http/ocsp/handler.ts';
import { createServerWithOcsp } from '../http/ocsp/listener.ts';
import type { StatusOptions } from '../status/options.ts';
import { createStatusService } from './start-status.ts';
import { parseDuration } from '../domain/duration.ts';
import { drainServer, ListenerGate, listenOn, type RequestTimeouts } from '../http/server-limits.ts';
import type { StatusService } from '../status/status-service.ts';
import { reasonNameOf } from '../domain/types.ts';
import { Readiness } from '../health/readiness.ts';
import { startLogCheck, type LogCheckOptions } from './log-check.ts';
import { TileCache, withTileFastPath, type LogSource } from '../http/routes/log.ts';
import { watchKeyStore } from '../health/keystore-events.ts';
import { startOcspWorkers, type OcspWorkers } from '../http/ocsp/workers/pool.ts';

export interface RunningServer {
  /** Base URL of the plain-HTTP listener, e.g. http://127.0.0.1:9080 */
  httpUrl: string;
  /** The ACME server (HTTPS, its own port), unless disabled. */
  acme: AcmeListener | null;
  /** OCSP pre-signing and CRL publishing for this instance. */
  status: StatusService;
  close(): Promise<void>;
}

/**
 * Serves an opened instance: plain HTTP (CA certificates, OCSP, CRL) and ACME over HTTPS; `port` 0 picks free ports (tests).
 * Every port is bound before anything is signed (the responder certificate, CRLs, the ACME
 * listener's certificate), so a start that fails on a busy port leaves nothing behind.
 */
export async function startServer(ca: CaInstance, o: { host: string; port: number; logger: Logger; acme?: Partial<AcmeConfig> | false; status?: Partial<StatusOptions>; ocspWorkers?: number; logCheck?: LogCheckOptions }): Promise<RunningServer> {
  const status = createStatusService(ca, o.logger, o.status);
  const { metrics } = ca;
  const ocsp = new OcspHttpHandler({ responder: status.responderLogic, cache: status.cache, clock: ca.clock, counters: metrics.ocsp });
  const crls = { shards: ca.authority.issuer.crlShards, current: (shard: number) => status.crls.current(shard) };
  // The transparency log's start check (#17): a database that does not match its signed log refuses issuance; status keeps answering.
  // A big log is checked on other threads while the listeners answer, issuance held until it passes (#21, log-check.ts).
  const logCheck = startLogCheck(ca, o.logger, o.logCheck);
  if (!logCheck.background) await logCheck.verdict;
  const readiness = new Readiness({ db: ca.store.db, key: ca.authority.keyHealth, crls, clock: ca.clock, ...(ca.authority.log ? { log: ca.authority.log } : {}) });
  const tileCache = new TileCache();
  const app = createApp({
    logger: o.logger,
    metrics,
    ready: () => readiness.check(),
    certificates: caCertificatesOf(ca),
    ocsp,
    crl: { issuerKeyId: ca.authority.issuer.keyId, current: (shard) => status.crls.current(shard) },
    log: logSourceOf(ca),
    tileCache,
  });
  const timeouts = { requestMs: parseDuration(ca.config.http.requestTimeout), headersMs: parseDuration(ca.config.http.headersTimeout) };
  const graceMs = parseDuration(ca.config.http.shutdownGrace);
  // Answers 503 until everything has started, and again from the moment close() is called.
  const gate = new ListenerGate();
  // OCSP is answered by a node:http fast path in front of Hono (see ocsp-listener.ts).
  const listen = async (hostname: string, port: number, what: string): Promise<ServerType> => {
    const s = createAdaptorServer({ fetch: app.fetch, createServer: createServerWithOcsp(ocsp, { timeouts, gate, front: (next) => withTileFastPath(tileCache, next) }) });
    await listenOn(s, port, hostname, what);
    return s;
  };
  const acmeOn = o.acme !== false && (o.acme?.enabled ?? ca.config.acme.enabled);
  // What else can fail the start is checked before anything is signed: the ACME secret key.
  if (acmeOn) await acmeSecretKeys(ca.dir);
  const server = await listen(o.host, o.port, 'plain HTTP');
  let acme: AcmeListener | null = null;
  let workers: (OcspWorkers & { internal: ServerType }) | null = null;
  try {
    if (acmeOn) {
      // An ephemeral plain-HTTP port (tests) implies an ephemeral ACME port unless one is given.
      const given = Object.fromEntries(Object.entries(o.acme ?? {}).filter(([, v]) => v !== undefined));
      const overrides = { ...(o.port === 0 ? { port: 0 } : {}), ...given };
      // The status service signs (responder, CRLs) once the ACME port is bound too.
      acme = await startAcme(ca, { host: o.host, logger: o.logger, overrides, listener: { timeouts, afterBind: () => status.start() } });
    } else {
      await status.start();
    }
    workers = await startWorkers(ca, server, listen, status, { ...o, timeouts });
  } catch (e) {
    status.stop();
    await logCheck.stop();
    await acme?.close(0);
    await drainServer(server as Server, 0);
    throw e;
  }
  metrics.watchCrls(crls);
  ca.authority.onIssued((c) => metrics.certificatesIssued.inc({ profile: c.profile }));
  ca.authority.onRevoked((r) => metrics.certificatesRevoked.inc({ profile: r.profile, reason: reasonNameOf(r.reason) }));
  watchKeyStore({ keyStore: ca.keyStore, store: ca.store, metrics, logger: o.logger, clock: ca.clock });
  // Checkpoints once everything is bound and started: a passing check's first one, then one a second at most.
  await logCheck.serving();
  gate.open();
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    httpUrl: `http://${host}:${addr.port}`,
    acme,
    status,
    close: async () => {
      // Before the first await: every socket stops accepting and every gate refuses new requests at once.
      gate.close();
      const draining = [acme?.close(graceMs), ...[server, ...(workers ? [workers.internal] : [])].map((s) => drainServer(s as Server, graceMs)), workers?.close()];
      await Promise.all(draining);
      status.stop();
      await logCheck.stop();
      await ca.authority.log?.stop();
    },
  };
}

/** The log routes read the main connection's repository; the verifier key comes from the authority's checkpointer. */
function logSourceOf(ca: CaInstance): LogSource {
  const log = ca.store.audit.log;
  return {
    verifierKey: ca.authority.log?.verifierKey ?? null,
    latestCheckpoint: () => log.latestCheckpoint(),
    hashes: (level, from, count) => log.hashes(level, from, count),
    entries: (from, count) => log.entries(from, count),
    reader: log.reader,
    issuanceIndex: (serial) => log.issuanceIndex(serial),
  };
}

/**
 * `ocspWorkers` ≥ 1: worker processes share the plain-HTTP socket and answer pre-signed OCSP
 * themselves; what they cannot answer comes back to this process through an internal
 * listener on loopback (an ephemeral port), which serves exactly what the public one does.
 */
async function startWorkers(
  ca: CaInstance,
  server: ServerType,
  listen: (host: string, port: number, what: string) => Promise<ServerType>,
  status: StatusService,
  o: { logger: Logger; ocspWorkers?: number; timeouts: RequestTimeouts },
): Promise<(OcspWorkers & { internal: ServerType }) | null> {
  if (!o.ocspWorkers) return null;
  // The workers read the SQLite file directly; on PostgreSQL the way to more OCSP capacity is more replicas.
  if (ca.store.shared) throw new CaError('config', '--ocsp-workers serves from the SQLite file: on PostgreSQL, run more pki serve replicas instead (docs/operations.md, Replicas on PostgreSQL)');
  let internal: ServerType | null = null;
  try {
    internal = await listen('127.0.0.1', 0, 'internal relay for OCSP workers');
    const workers = await startOcspWorkers({
      count: o.ocspWorkers,
      entry: workerEntryPath('ocsp-worker'),
      listening: server,
      logger: o.logger,
      config: {
        dbPath: ca.store.db.name,
        issuerCertificate: Buffer.from(ca.authority.issuer.certificate.rawData).toString('base64'),
        primaryPort: (internal.address() as AddressInfo).port,
        pollIntervalMs: status.options.pollIntervalMs,
        maintenanceIntervalMs: status.options.maintenanceIntervalMs,
        ocspValidityMs: status.options.ocspValidityMs,
        maxCertsPerRequest: status.options.maxCertsPerRequest,
        cacheEntries: status.options.ocspCacheEntries,
        timeouts: o.timeouts,
      },
    });
    return { ...workers, internal };
  } catch (e) {
    if (internal) await drainServer(internal as Server, 0);
    throw e;
  }
}
