import type { Authority } from '../authority/authority.ts';
import type { Logger } from '../domain/log.ts';
import type { CaMetrics } from '../metrics/metrics.ts';

/**
 * Explains serials a stopped process left `pending` (DESIGN: reserved, never stored): at
 * startup and then every `intervalMs`, any reservation older than `graceMs` is marked failed
 * with an audit row (Authority.reconcilePending) and logged as `issuance.reconciled`. The
 * repeat catches reservations that were too fresh at startup (a crash just before a restart).
 */
export function startPendingReconciler(o: { authority: Authority; logger: Logger; metrics?: CaMetrics; graceMs: number; intervalMs?: number }): { stop(): void; runNow(): string[] } {
  const runNow = (): string[] => {
    try {
      const abandoned = o.authority.reconcilePending(o.graceMs);
      if (abandoned.length) {
        o.metrics?.pendingReconciled.inc(abandoned.length);
        o.logger.warn('issuance.reconciled', { abandoned, detail: 'serials reserved by a process that stopped before storing the certificate are marked failed' });
      }
      return abandoned;
    } catch (e) {
      o.logger.error('issuance.reconcile-failed', { error: (e as Error).message });
      return [];
    }
  };
  runNow();
  const timer = setInterval(runNow, o.intervalMs ?? Math.max(1000, Math.min(o.graceMs, 60_000)));
  timer.unref();
  return { stop: () => clearInterval(timer), runNow };
}
