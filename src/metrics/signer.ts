import type { SignOutcome } from '../authority/issuer-key.ts';
import type { CaMetrics } from './metrics.ts';

/**
 * The authority's sign observer for metrics: each signature by the issuing key timed
 * (`pki_signer_seconds`) and each failure counted (`pki_keystore_errors_total{operation="sign"}`).
 */
export function signMetrics(metrics: CaMetrics): (o: SignOutcome) => void {
  const ok = metrics.signerLatency.labels('ok');
  const failed = metrics.signerLatency.labels('error');
  const errors = metrics.keyStoreErrors.labels('sign');
  return (o) => {
    (o.ok ? ok : failed).observe(o.seconds);
    if (!o.ok) errors.inc();
  };
}
