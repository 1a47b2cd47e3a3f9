import { Hono } from 'hono';
import type { Logger } from '../domain/log.ts';
import { bodyLimit } from './body-limit.ts';
import { requestLog } from './request-log.ts';
import { caCertificateRoutes, type CaCertificates } from './routes/ca-certificates.ts';
import { crlRoutes, type CrlSource } from './routes/crl.ts';
import { ocspRoutes } from './ocsp/routes.ts';
import type { OcspHttpHandler } from './ocsp/handler.ts';
import { metricsRoutes, type MetricsSource } from './routes/metrics.ts';
import { readyRoutes } from './routes/ready.ts';
import { logRoutes, type LogSource, type TileCache } from './routes/log.ts';
import type { ReadyReport } from '../health/readiness.ts';

export interface AppDeps {
  logger: Logger;
  certificates: CaCertificates;
  /** OCSP responder (RFC 6960) at /ocsp, when the status service runs. */
  ocsp?: OcspHttpHandler;
  /** CRL shards at /crl/<issuer>/<shard>.crl|.pem, when the status service runs. */
  crl?: CrlSource;
  /** Prometheus metrics at /metrics. */
  metrics?: MetricsSource;
  /** Readiness at /readyz (503 with the reason when not ready). */
  ready?: () => Promise<ReadyReport>;
  /** The transparency log at /log (checkpoint, tiles, proofs), issue #17. */
  log?: LogSource;
  /** Full tiles kept for the listener's fast path (withTileFastPath). */
  tileCache?: TileCache;
  /** Largest request body accepted on any route. */
  maxBodyBytes?: number;
}

/** The plain-HTTP app relying parties use: health, CA certificates (OCSP and CRL routes join it). */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use('*', requestLog(deps.logger));
  app.use('*', bodyLimit({ maxBytes: deps.maxBodyBytes ?? 64 * 1024 }, (c) => c.text('request body too large\n', 413)));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  if (deps.ready) app.route('/readyz', readyRoutes(deps.ready));
  if (deps.metrics) app.route('/metrics', metricsRoutes(deps.metrics));
  app.route('/ca', caCertificateRoutes(deps.certificates));
  if (deps.ocsp) app.route('/ocsp', ocspRoutes(deps.ocsp));
  if (deps.crl) app.route('/crl', crlRoutes(deps.crl));
  if (deps.log) app.route('/log', logRoutes(deps.log, deps.tileCache));
  app.notFound((c) => c.text('not found\n', 404));
  app.onError((err, c) => {
    deps.logger.error('http.error', { path: c.req.path, error: err.message });
    return c.text('internal error\n', 500);
  });
  return app;
}
