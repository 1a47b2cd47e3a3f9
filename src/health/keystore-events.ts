import type { Clock } from '../domain/clock.ts';
import type { KeyStore } from '../keystore/keystore.ts';
import type { Logger } from '../domain/log.ts';
import type { Store } from '../store/store.ts';
import type { CaMetrics } from '../metrics/metrics.ts';

/**
 * Key store events while serving: a lost PKCS#11 session (token removed, module restarted) is
 * counted (`pki_keystore_errors_total{operation="session"}`), logged, and recorded in the audit
 * trail as `keystore.session.recovered` or `keystore.session.failed`: an HSM going away is
 * something an auditor asks about.
 */
export function watchKeyStore(o: { keyStore: KeyStore; store: Store; metrics: CaMetrics; logger: Logger; clock: Clock }): void {
  o.keyStore.onEvent?.((e) => {
    o.metrics.keyStoreErrors.inc({ operation: 'session' });
    o.logger[e.recovered ? 'warn' : 'error']('keystore.session-lost', { operation: e.operation, recovered: e.recovered, detail: e.detail });
    try {
      o.store.transaction(() =>
        o.store.audit.append({
          at: o.clock.now(),
          action: e.recovered ? 'keystore.session.recovered' : 'keystore.session.failed',
          actor: 'system',
          target: o.keyStore.type,
          details: { operation: e.operation, detail: e.detail },
        }),
      );
    } catch (err) {
      o.logger.error('audit.append-failed', { action: 'keystore.session', error: (err as Error).message });
    }
  });
}
