import { createAcmeService } from '../acme/create.ts';
import type { AcmeConfig } from '../config/acme.ts';
import type { Logger } from '../domain/log.ts';
import { createAcmePipeline } from '../http/acme-https/fetch-app.ts';
import { startAcmeListener, type AcmeListener, type AcmeListenerDeps } from '../http/acme-https/listener.ts';
import { issueServerCertificate } from '../http/acme-https/tls-certificate.ts';
import { caCertificatesOf } from '../http/routes/ca-certificates.ts';
import type { CaInstance } from './open.ts';
import { sharedBuckets } from './replicas.ts';
import { tlsResources } from './tls-resources.ts';
import { acmeWorkloadTokens } from './workload-tokens.ts';

/**
 * The ACME server of an opened instance: its settings (config + overrides), the listener's own
 * certificate from the authority, and the ACME tables on the issuance connection, where the
 * authority's own writes keep the page cache warm (docs/design.md "One connection for the hot path").
 */
export async function startAcme(ca: CaInstance, o: { host: string; logger: Logger; overrides: Partial<AcmeConfig>; listener: Pick<AcmeListenerDeps, 'afterBind' | 'timeouts'> }): Promise<AcmeListener> {
  const config: AcmeConfig = { ...ca.config.acme, ...o.overrides };
  return startAcmeListener({
    ...o.listener,
    host: o.host,
    port: config.port,
    hostnames: config.hostnames,
    ...(config.externalUrl ? { externalUrl: config.externalUrl } : {}),
    logger: o.logger,
    clock: ca.clock,
    // The listener's own certificate may be issued while the log's start check runs (docs/design.md, #21).
    issueCertificate: () => issueServerCertificate({ issue: (csr, opts) => ca.authority.issue(csr, opts, { whileLogChecks: true }) }, config.hostnames),
    openPipeline: async (origin) => {
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
        workloadTokens: acmeWorkloadTokens(ca, o.logger),
      });
      service.validations.onValidated((r) => ca.metrics.validations.observe({ type: r.type, outcome: r.outcome }, r.seconds));
      // The CA certificates here too: `pki enroll --root-fingerprint` fetches the root from the ACME origin.
      const pipeline = createAcmePipeline(service.ctx, { caCertificates: caCertificatesOf(ca), rateLimits: ca.config.rateLimits, ...sharedBuckets(ca), metrics: ca.metrics, subs: tlsResources(ca, service, o.logger) });
      return { service, pipeline };
    },
  });
}
