import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAcmeService, type AcmeService } from '../../acme/create.ts';
import type { AcmeConfig } from '../../config/acme.ts';
import type { CaInstance } from '../../instance/open.ts';
import type { Logger } from '../../domain/log.ts';
import { readNodeBody } from '../body-limit.ts';
import { createAcmePipeline } from './fetch-app.ts';
import type { AcmePipeline } from './pipeline.ts';
import { caCertificatesOf } from '../routes/ca-certificates.ts';
import { issueServerCertificate, renewDelayMs } from './tls-certificate.ts';

export interface AcmeListener {
  /** https://HOST:PORT/acme/directory */
  directoryUrl: string;
  service: AcmeService;
  close(): Promise<void>;
}

export interface AcmeListenOptions {
  host: string;
  logger: Logger;
  /** Overrides of the config's acme section (CLI flags, tests). */
  overrides?: Partial<AcmeConfig>;
}

/**
 * Serves ACME over HTTPS on its own port with a certificate the CA issues to
 * itself for the configured hostnames, renewed two thirds into its lifetime.
 */
export async function startAcmeListener(ca: CaInstance, o: AcmeListenOptions): Promise<AcmeListener> {
  const config: AcmeConfig = { ...ca.config.acme, ...stripUndefined(o.overrides ?? {}) };
  let cert = await issueServerCertificate(ca.authority, config.hostnames);
  let pipeline: AcmePipeline | null = null;
  const server: Server = createServer({ key: cert.keyPem, cert: cert.chainPem }, (req, res) => {
    if (pipeline) serve(pipeline, req, res, o.logger);
    else res.writeHead(503, { 'Content-Type': 'text/plain' }).end('starting\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const wildcard = o.host === '0.0.0.0' || o.host === '::' || o.host === '';
  const hostInUrl = wildcard ? config.hostnames[0]! : o.host.includes(':') ? `[${o.host}]` : o.host;
  const origin = `https://${hostInUrl}:${port}`;

  const service = await createAcmeService({
    dir: ca.dir,
    db: ca.store.db,
    connection: ca.issuanceStore.db,
    authority: ca.authority,
    certificates: ca.issuanceStore.certificates,
    clock: ca.clock,
    logger: o.logger,
    intermediatePem: ca.intermediate.toString('pem') + '\n',
    config,
    defaultProfile: ca.config.issuance.defaultProfile,
    origin,
  });
  service.validations.onValidated((r) => ca.metrics.validations.observe({ type: r.type, outcome: r.outcome }, r.seconds));
  // The CA certificates here too: `pki enroll --root-fingerprint` fetches the root from the ACME origin.
  pipeline = createAcmePipeline(service.ctx, { caCertificates: caCertificatesOf(ca), rateLimits: ca.config.rateLimits, metrics: ca.metrics });

  let timer: NodeJS.Timeout;
  const scheduleRenewal = () => {
    timer = setTimeout(() => {
      issueServerCertificate(ca.authority, config.hostnames)
        .then((next) => {
          cert = next;
          server.setSecureContext({ key: cert.keyPem, cert: cert.chainPem });
          o.logger.info('acme.tls.renewed', { notAfter: cert.notAfter.toISOString() });
        })
        .catch((e) => o.logger.error('acme.tls.renewal-failed', { error: (e as Error).message }))
        .finally(scheduleRenewal);
    }, renewDelayMs(cert, ca.clock.now()));
    timer.unref();
  };
  scheduleRenewal();

  return {
    directoryUrl: `${origin}/acme/directory`,
    service,
    close: async () => {
      clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await service.close();
    },
  };
}

/** One node:http request through the pipeline: the path, Content-Type and client address in, the response written out. */
function serve(pipeline: AcmePipeline, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  pipeline
    .handle({
      method: req.method ?? 'GET',
      path: pathOf(req.url ?? '/'),
      contentType: req.headers['content-type'],
      remoteAddress: req.socket.remoteAddress ?? 'unknown',
      body: (limit) => readNodeBody(req, limit),
    })
    .then((r) => {
      const headers = r.headers as Record<string, string | string[] | number>;
      const body = req.method === 'HEAD' ? null : r.body;
      // Every response but a 204 says its length, 0 included: without one, clients such as Node's
      // do not reuse the connection after HEAD newNonce and pay a new TLS handshake.
      if (r.status !== 204) headers['Content-Length'] = r.body === null ? 0 : typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.byteLength;
      res.writeHead(r.status, headers);
      res.end(body ?? undefined);
      // A body nobody read (a GET with one, a refused POST) is drained so the connection stays usable.
      if (!req.complete) req.resume();
    })
    .catch((e: unknown) => {
      logger.error('acme.response-failed', { error: (e as Error).message });
      res.destroy();
    });
}

/** The path of a request target, without the query; an absolute-form target ("https://host/x") gives its path. */
function pathOf(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (path.startsWith('/')) return path;
  try {
    return new URL(path).pathname;
  } catch {
    return '/';
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
