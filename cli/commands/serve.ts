import type { Command } from 'commander';
import { auditConfig, CaError, jsonLogger, openInstance, parseDuration, startPendingReconciler, startServer, type AcmeConfig } from '../../src/index.ts';
import { action } from '../common.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the CA: CA certificates, health (and ACME, OCSP, CRL) on localhost')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--host <host>', 'address to listen on (default from config, 127.0.0.1)')
    .option('--http-port <port>', 'plain-HTTP port for OCSP, CRL and CA certificates (default from config, 9080)')
    .option('--passphrase-file <file>', 'key store passphrase file')
    .option('--acme-port <port>', 'HTTPS port of the ACME server (default from config, 9443)')
    .option('--no-acme', 'do not serve ACME')
    .option('--http01-port <port>', 'port http-01 validation connects to (default 80)')
    .option('--tlsalpn01-port <port>', 'port tls-alpn-01 validation connects to (default 443)')
    .option('--ocsp-workers <n>', 'extra processes that share the plain-HTTP port and answer pre-signed OCSP (default 0: one process)', '0')
    .option('--dns-server <host:port>', 'DNS server for validation lookups (default: the system resolver)')
    .action(
      action(async (o: ServeFlags) => {
        const logger = jsonLogger();
        const ca = await openInstance({ dir: o.dir, passphraseFile: o.passphraseFile, logger });
        const port = o.httpPort !== undefined ? Number(o.httpPort) : ca.config.http.port;
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CaError('malformed', `invalid --http-port "${o.httpPort}"`);
        const ocspWorkers = Number(o.ocspWorkers);
        if (!/^\d+$/.test(o.ocspWorkers) || ocspWorkers > 64) throw new CaError('malformed', `invalid --ocsp-workers "${o.ocspWorkers}": use 0 to 64`);
        const config = auditConfig(ca.store, ca.config, { at: new Date(), actor: 'serve', file: 'pki.json' });
        if (config.action) logger.info(config.action, { changed: config.changed });
        // Now and periodically: pending serials left by a process that stopped mid-issuance are explained (issuance.reconciled).
        const reconciler = startPendingReconciler({ authority: ca.authority, logger, metrics: ca.metrics, graceMs: parseDuration(ca.config.issuance.pendingGrace) });
        ca.metrics.collectProcessMetrics();
        let server;
        try {
          server = await startServer(ca, { host: o.host ?? ca.config.http.host, port, logger, acme: acmeOverrides(o), ocspWorkers });
        } catch (e) {
          // A busy port fails as `cannot listen on HOST:PORT (which listener)`, before anything is signed;
          // a database or key store error keeps its own name.
          reconciler.stop();
          await ca.close();
          throw e;
        }
        if (server.acme) process.stderr.write(`ACME directory: ${server.acme.directoryUrl}\n`);
        logger.info('serve.started', {
          dir: ca.dir,
          http: server.httpUrl,
          caCertificates: `${server.httpUrl}/ca/chain.pem`,
          baseUrlInCertificates: ca.config.baseUrl,
          acmeDirectory: server.acme?.directoryUrl ?? null,
        });
        const stop = async (signal: string) => {
          logger.info('serve.stopping', { signal });
          reconciler.stop();
          await server.close();
          await ca.close();
          logger.info('serve.stopped', {});
          process.exit(0);
        };
        process.once('SIGTERM', () => void stop('SIGTERM'));
        process.once('SIGINT', () => void stop('SIGINT'));
      }),
    );
}

interface ServeFlags {
  dir: string;
  host?: string;
  httpPort?: string;
  passphraseFile?: string;
  acme: boolean;
  acmePort?: string;
  http01Port?: string;
  tlsalpn01Port?: string;
  dnsServer?: string;
  ocspWorkers: string;
}

/** The ACME flags as config overrides (Pebble-style knobs for tests and local use), or false for --no-acme. */
function acmeOverrides(o: ServeFlags): Partial<AcmeConfig> | false {
  if (!o.acme) return false;
  const port = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CaError('malformed', `invalid ${flag} "${v}"`);
    return n;
  };
  if (o.dnsServer !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(o.dnsServer)) throw new CaError('malformed', `invalid --dns-server "${o.dnsServer}": use HOST:PORT`);
  return {
    port: port('--acme-port', o.acmePort),
    http01Port: port('--http01-port', o.http01Port),
    tlsAlpn01Port: port('--tlsalpn01-port', o.tlsalpn01Port),
    dnsServer: o.dnsServer,
  };
}
