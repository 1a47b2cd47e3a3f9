import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from './http/app.ts';
import { caCertificatesOf } from './http/routes/ca-certificates.ts';
import { startAcmeListener, type AcmeListener } from './http/acme/listener.ts';
import type { AcmeConfig } from './acme/settings.ts';
import type { CaInstance } from './instance/open.ts';
import type { Logger } from './log.ts';
import { OcspHttpHandler } from './http/routes/ocsp-handler.ts';
import { createServerWithOcsp } from './http/routes/ocsp-listener.ts';
import type { StatusOptions } from './status/options.ts';
import { startStatusService } from './status/start.ts';
import type { StatusService } from './status/status-service.ts';
import { reasonNameOf } from './authority/authority.ts';
import { Readiness } from './metrics/readiness.ts';
import { watchKeyStore } from './metrics/keystore-events.ts';

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
export async function startServer(ca: CaInstance, o: { host: string; port: number; logger: Logger; acme?: Partial<AcmeConfig> | false; status?: Partial<StatusOptions> }): Promise<RunningServer> {
  const status = await startStatusService(ca, o.logger, o.status);
  const { metrics } = ca;
  const ocsp = new OcspHttpHandler({ responder: status.responderLogic, cache: status.cache, clock: ca.clock, counters: metrics.ocsp });
  const crls = { shards: ca.authority.issuer.crlShards, current: (shard: number) => status.crls.current(shard) };
  metrics.watchCrls(crls);
  ca.authority.onIssued((c) => metrics.certificatesIssued.inc({ profile: ca.store.certificates.get(c.serial)?.profile ?? 'unknown' }));
  ca.authority.onRevoked((r) => metrics.certificatesRevoked.inc({ profile: r.profile, reason: reasonNameOf(r.reason) }));
  watchKeyStore({ keyStore: ca.keyStore, store: ca.store, metrics, logger: o.logger, clock: ca.clock });
  const readiness = new Readiness({ db: ca.store.db, signer: ca.authority.issuer.signer, crls, clock: ca.clock });
  const app = createApp({
    logger: o.logger,
    metrics,
    ready: () => readiness.check(),
    certificates: caCertificatesOf(ca),
    ocsp,
    crl: { issuerKeyId: ca.authority.issuer.keyId, current: (shard) => status.crls.current(shard) },
  });
  const server: ServerType = await new Promise((resolve, reject) => {
    // OCSP is answered by a node:http fast path in front of Hono (see ocsp-listener.ts).
    const s = serve({ fetch: app.fetch, hostname: o.host, port: o.port, createServer: createServerWithOcsp(ocsp) }, () => resolve(s));
    s.once('error', (e) => {
      status.stop();
      reject(e);
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let acme: AcmeListener | null = null;
  if (o.acme !== false && (o.acme?.enabled ?? ca.config.acme.enabled)) {
    try {
      // An ephemeral plain-HTTP port (tests) implies an ephemeral ACME port unless one is given.
      const given = Object.fromEntries(Object.entries(o.acme ?? {}).filter(([, v]) => v !== undefined));
      const overrides = { ...(o.port === 0 ? { port: 0 } : {}), ...given };
      acme = await startAcmeListener(ca, { host: o.host, logger: o.logger, overrides });
    } catch (e) {
      status.stop();
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        (server as import('node:http').Server).closeIdleConnections?.();
      });
    },
  };
}
