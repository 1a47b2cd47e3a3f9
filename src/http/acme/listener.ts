import { getRequestListener } from '@hono/node-server';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAcmeService, type AcmeService } from '../../acme/create.ts';
import type { AcmeConfig } from '../../acme/settings.ts';
import type { CaInstance } from '../../instance/open.ts';
import type { Logger } from '../../log.ts';
import { createAcmeApp } from './app.ts';
import type { AcmeEnv } from '../middleware/jws.ts';
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
  let fetch: (req: Request, env: unknown) => Response | Promise<Response> = () => new Response('starting', { status: 503 });
  const server: Server = createServer({ key: cert.keyPem, cert: cert.chainPem }, getRequestListener((req, env) => fetch(req, env)));
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
    authority: ca.authority,
    certificates: ca.store.certificates,
    clock: ca.clock,
    logger: o.logger,
    intermediatePem: ca.intermediate.toString('pem') + '\n',
    config,
    defaultProfile: ca.config.issuance.defaultProfile,
    origin,
  });
  service.validations.onValidated((r) => ca.metrics.validations.observe({ type: r.type, outcome: r.outcome }, r.seconds));
  // The CA certificates here too: `pki enroll --root-fingerprint` fetches the root from the ACME origin.
  const app = createAcmeApp(service.ctx, { caCertificates: caCertificatesOf(ca), rateLimits: ca.config.rateLimits, metrics: ca.metrics });
  // env carries Node's IncomingMessage: the JWS middleware reads the body from it directly.
  fetch = (req, env) => app.fetch(req, env as AcmeEnv['Bindings']);

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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
