import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createApp } from '../http/plain-app.ts';
import { caCertificatesOf } from '../http/routes/ca-certificates.ts';
import type { AcmeListener } from '../http/acme-https/listener.ts';
import { startAcme } from './acme.ts';
import type { AcmeConfig } from '../config/acme.ts';
import type { CaInstance } from './open.ts';
import type { Logger } from '../domain/log.ts';
import { OcspHttpHandler } from '../http/ocsp/handler.ts';
import { createServerWithOcsp } from '../http/ocsp/listener.ts';
import type { StatusOptions } from '../status/options.ts';
import { startStatusService } from './start-status.ts';
import type { StatusService } from '../status/status-service.ts';
import { reasonNameOf } from '../domain/types.ts';
import { Readiness } from '../health/readiness.ts';
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

/** Serves an opened instance: plain HTTP (CA certificates, OCSP, CRL) and ACME over HTTPS; `port` 0 picks free ports (tests). */
export async function startServer(ca: CaInstance, o: { host: string; port: number; logger: Logger; acme?: Partial<AcmeConfig> | false; status?: Partial<StatusOptions>; ocspWorkers?: number }): Promise<RunningServer> {
  const status = await startStatusService(ca, o.logger, o.status);
  const { metrics } = ca;
  const ocsp = new OcspHttpHandler({ responder: status.responderLogic, cache: status.cache, clock: ca.clock, counters: metrics.ocsp });
  const crls = { shards: ca.authority.issuer.crlShards, current: (shard: number) => status.crls.current(shard) };
  metrics.watchCrls(crls);
  ca.authority.onIssued((c) => metrics.certificatesIssued.inc({ profile: c.profile }));
  ca.authority.onRevoked((r) => metrics.certificatesRevoked.inc({ profile: r.profile, reason: reasonNameOf(r.reason) }));
  watchKeyStore({ keyStore: ca.keyStore, store: ca.store, metrics, logger: o.logger, clock: ca.clock });
  const readiness = new Readiness({ db: ca.store.db, key: ca.authority.keyHealth, crls, clock: ca.clock });
  const app = createApp({
    logger: o.logger,
    metrics,
    ready: () => readiness.check(),
    certificates: caCertificatesOf(ca),
    ocsp,
    crl: { issuerKeyId: ca.authority.issuer.keyId, current: (shard) => status.crls.current(shard) },
  });
  // OCSP is answered by a node:http fast path in front of Hono (see ocsp-listener.ts).
  const listen = (hostname: string, port: number): Promise<ServerType> =>
    new Promise((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname, port, createServer: createServerWithOcsp(ocsp) }, () => resolve(s));
      s.once('error', reject);
    });
  let server: ServerType;
  try {
    server = await listen(o.host, o.port);
  } catch (e) {
    status.stop();
    throw e;
  }
  const workers = await startWorkers(ca, server, listen, status, o);
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let acme: AcmeListener | null = null;
  if (o.acme !== false && (o.acme?.enabled ?? ca.config.acme.enabled)) {
    try {
      // An ephemeral plain-HTTP port (tests) implies an ephemeral ACME port unless one is given.
      const given = Object.fromEntries(Object.entries(o.acme ?? {}).filter(([, v]) => v !== undefined));
      const overrides = { ...(o.port === 0 ? { port: 0 } : {}), ...given };
      acme = await startAcme(ca, { host: o.host, logger: o.logger, overrides });
    } catch (e) {
      status.stop();
      await workers?.close();
      server.close();
      throw e;
    }
  }
  return {
    httpUrl: `http://${host}:${addr.port}`,
    acme,
    status,
    close: async () => {
      status.stop();
      await acme?.close();
      await workers?.close();
      await Promise.all([server, ...(workers ? [workers.internal] : [])].map(closeServer));
    },
  };
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Idle keep-alive sockets would hold close() open.
    (server as import('node:http').Server).closeIdleConnections?.();
  });
}

/**
 * `ocspWorkers` ≥ 1: worker processes share the plain-HTTP socket and answer pre-signed OCSP
 * themselves; what they cannot answer comes back to this process through an internal
 * listener on loopback (an ephemeral port), which serves exactly what the public one does.
 */
async function startWorkers(
  ca: CaInstance,
  server: ServerType,
  listen: (host: string, port: number) => Promise<ServerType>,
  status: StatusService,
  o: { logger: Logger; ocspWorkers?: number },
): Promise<(OcspWorkers & { internal: ServerType }) | null> {
  if (!o.ocspWorkers) return null;
  let internal: ServerType | null = null;
  try {
    internal = await listen('127.0.0.1', 0);
    const workers = await startOcspWorkers({
      count: o.ocspWorkers,
      entry: fileURLToPath(new URL('./ocsp-worker-launch.js', import.meta.url)),
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
      },
    });
    return { ...workers, internal };
  } catch (e) {
    status.stop();
    if (internal) await closeServer(internal);
    server.close();
    throw e;
  }
}
