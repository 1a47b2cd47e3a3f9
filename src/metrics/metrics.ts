import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { OcspCounters } from './ocsp-counters.ts';

/** Where the CRL shards stand, read at scrape time. */
export interface CrlView {
  shards: number;
  current(shard: number): { thisUpdate: Date; nextUpdate: Date } | null;
}

/** Seconds buckets for work that takes from a millisecond (a file-key signature) to seconds (an HSM, a slow validation). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The CA's Prometheus metrics (prom-client), one registry per instance so tests and
 * embedders can run several. Every label takes its value from a small fixed set
 * (profile names, ACME resources and problem types, validation types), never from
 * request data, so the number of series stays bounded.
 */
export class CaMetrics {
  readonly registry = new Registry();
  readonly certificatesIssued: Counter<'profile'>;
  readonly certificatesRevoked: Counter<'profile' | 'reason'>;
  readonly acmeRequests: Counter<'resource' | 'problem'>;
  readonly rateLimited: Counter<'limit'>;
  readonly validations: Histogram<'type' | 'outcome'>;
  readonly signerLatency: Histogram<'result'>;
  readonly keyStoreErrors: Counter<'operation'>;
  readonly pendingReconciled: Counter;
  /** OAuth access tokens issued (#20), by acr; refusals by endpoint and RFC 6749 §5.2 error code. */
  readonly oauthTokensIssued: Counter<'acr'>;
  readonly oauthRefused: Counter<'endpoint' | 'error'>;
  /** OCSP is counted with plain integer increments on the fast path and read at scrape time. */
  readonly ocsp = new OcspCounters();
  #crl: CrlView | null = null;
  #processMetrics = false;

  constructor() {
    const registers = [this.registry];
    this.certificatesIssued = new Counter({ name: 'pki_certificates_issued_total', help: 'Certificates issued by this process, by profile', labelNames: ['profile'], registers });
    this.certificatesRevoked = new Counter({ name: 'pki_certificates_revoked_total', help: 'Certificates revoked by this process, by profile and reason', labelNames: ['profile', 'reason'], registers });
    this.acmeRequests = new Counter({
      name: 'pki_acme_requests_total',
      help: 'ACME requests by resource and problem type ("none" when the request succeeded)',
      labelNames: ['resource', 'problem'],
      registers,
    });
    this.rateLimited = new Counter({ name: 'pki_acme_rate_limited_total', help: 'ACME requests refused with rateLimited, by limit', labelNames: ['limit'], registers });
    this.validations = new Histogram({
      name: 'pki_acme_validation_seconds',
      help: 'ACME challenge validations: duration by challenge type and outcome (valid, or the problem type)',
      labelNames: ['type', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.signerLatency = new Histogram({
      name: 'pki_signer_seconds',
      help: 'Time the issuing key takes to sign (certificates, CRLs, responder certificates), by result',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.keyStoreErrors = new Counter({ name: 'pki_keystore_errors_total', help: 'Key store operations that failed, by operation', labelNames: ['operation'], registers });
    this.pendingReconciled = new Counter({ name: 'pki_issuance_reconciled_total', help: 'Serials left pending by a stopped process and marked failed', registers });
    this.oauthTokensIssued = new Counter({ name: 'pki_oauth_tokens_issued_total', help: 'OAuth access tokens issued, by acr', labelNames: ['acr'], registers });
    this.oauthRefused = new Counter({ name: 'pki_oauth_refused_total', help: 'OAuth requests refused, by endpoint and error code', labelNames: ['endpoint', 'error'], registers });
    const ocsp = this.ocsp;
    new Counter({
      name: 'pki_ocsp_requests_total',
      help: 'OCSP requests by method and result (cached: raw-bytes cache hit; presigned; signed: signed for this request; error: OCSP error response; tryLater)',
      labelNames: ['method', 'result'],
      registers,
      collect() {
        this.reset();
        ocsp.forEach((method, result, n) => this.inc({ method, result }, n));
      },
    });
    const crl = () => this.#crl;
    // Both CRL gauges read every shard's current CRL at scrape time.
    const crlGauge = (name: string, help: string, seconds: (c: { thisUpdate: Date; nextUpdate: Date }, now: number) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['shard'],
        registers,
        collect() {
          this.reset();
          const c = crl();
          if (!c) return;
          const now = Date.now();
          for (let s = 0; s < c.shards; s++) {
            const cur = c.current(s);
            if (cur) this.set({ shard: String(s) }, seconds(cur, now));
          }
        },
      });
    crlGauge('pki_crl_age_seconds', 'Seconds since thisUpdate of the current CRL, by shard', (c, now) => (now - c.thisUpdate.getTime()) / 1000);
    crlGauge('pki_crl_next_update_seconds', 'Seconds until nextUpdate of the current CRL, by shard (negative: expired)', (c, now) => (c.nextUpdate.getTime() - now) / 1000);
  }

  /** The CRL publisher whose shards `pki_crl_*` report. */
  watchCrls(view: CrlView): void {
    this.#crl = view;
  }

  /** Node process metrics (CPU, memory, event loop lag, GC) with the `pki_` prefix; once per registry. */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    collectDefaultMetrics({ register: this.registry, prefix: 'pki_' });
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
