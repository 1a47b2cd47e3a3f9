import type { Command } from 'commander';
import { CaError, jsonLogger, openInstance, startServer } from '../../src/index.ts';
import { action } from '../common.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the CA: CA certificates, health (and ACME, OCSP, CRL) on localhost')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--host <host>', 'address to listen on (default from config, 127.0.0.1)')
    .option('--http-port <port>', 'plain-HTTP port for OCSP, CRL and CA certificates (default from config, 9080)')
    .option('--passphrase-file <file>', 'key store passphrase file')
    .action(
      action(async (o: { dir: string; host?: string; httpPort?: string; passphraseFile?: string }) => {
        const logger = jsonLogger();
        const ca = await openInstance({ dir: o.dir, passphraseFile: o.passphraseFile });
        const port = o.httpPort !== undefined ? Number(o.httpPort) : ca.config.http.port;
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CaError('malformed', `invalid --http-port "${o.httpPort}"`);
        const abandoned = ca.authority.reconcilePending();
        if (abandoned.length) logger.warn('issuance.reconciled', { abandoned, detail: 'serials reserved by a process that stopped before storing the certificate are marked failed' });
        let server;
        try {
          server = await startServer(ca, { host: o.host ?? ca.config.http.host, port, logger });
        } catch (e) {
          await ca.close();
          throw new CaError('config', `cannot listen: ${(e as Error).message}`);
        }
        logger.info('serve.started', {
          dir: ca.dir,
          http: server.httpUrl,
          caCertificates: `${server.httpUrl}/ca/chain.pem`,
          baseUrlInCertificates: ca.config.baseUrl,
        });
        const stop = async (signal: string) => {
          logger.info('serve.stopping', { signal });
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
