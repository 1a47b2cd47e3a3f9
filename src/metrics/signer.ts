import type { Signer } from '../domain/signer.ts';
import type { CaMetrics } from './metrics.ts';

/**
 * The same signer with each `sign` timed (`pki_signer_seconds`) and each failure counted
 * (`pki_keystore_errors_total{operation="sign"}`). A Proxy rather than a copy, so any
 * other member a key store's signer has (now or later) is still there, bound to the original.
 * `lastSign` remembers the latest outcome for the readiness check.
 */
export function instrumentSigner(signer: Signer, metrics: CaMetrics): Signer & { readonly lastSign: SignOutcome | null } {
  let lastSign: SignOutcome | null = null;
  const ok = metrics.signerLatency.labels('ok');
  const failed = metrics.signerLatency.labels('error');
  const errors = metrics.keyStoreErrors.labels('sign');
  const sign = async (tbs: Uint8Array): Promise<Uint8Array> => {
    const start = performance.now();
    try {
      const sig = await signer.sign(tbs);
      ok.observe((performance.now() - start) / 1000);
      lastSign = { ok: true, at: Date.now() };
      return sig;
    } catch (e) {
      failed.observe((performance.now() - start) / 1000);
      errors.inc();
      lastSign = { ok: false, at: Date.now(), error: (e as Error).message };
      throw e;
    }
  };
  return new Proxy(signer, {
    get(target, prop) {
      if (prop === 'sign') return sign;
      if (prop === 'lastSign') return lastSign;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Signer & { readonly lastSign: SignOutcome | null };
}

export interface SignOutcome {
  ok: boolean;
  /** Epoch ms. */
  at: number;
  error?: string;
}
