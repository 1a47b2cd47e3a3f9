import { isCaError } from '../domain/errors.ts';
import type { RenewOutcome } from './renew.ts';

/**
 * `pki renew --daemon`: the renewal loop for hosts without systemd or cron. Each round asks the
 * one-shot renew (which alone decides due-ness: lifetime, ARI, revocation) and then sleeps until
 * the next check: never longer than `checkEveryMs`, no later than the pair's renewal time, each
 * wait spread by up to 10% so a fleet drifts apart. A failure retries after an exponential
 * backoff (30 s doubling, capped at 1 h) and the pair in place stays as it was.
 *
 * Stopping (the signal aborts): a renewal under way is finished, never cut: installPair writes a
 * new version directory and swaps one symlink, so there is no half-written key or certificate to
 * fear, but a cut renewal would leave an order the CA already signed and a key never used.
 */
export interface DaemonOptions {
  /** One `renew()` with the command's options. */
  renewOnce: () => Promise<RenewOutcome>;
  checkEveryMs: number;
  /** Extra random delay (0..jitterMs) before a renewal that the pair's renewal time scheduled. */
  jitterMs?: number;
  signal: AbortSignal;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  onOutcome?: (r: RenewOutcome) => void;
  onFailure?: (e: unknown, retryInMs: number) => void;
}

export const DEFAULT_BACKOFF = { initialMs: 30_000, maxMs: 3_600_000 } as const;
/** Shortest wait between two rounds, so a clock jump or a pair due at once cannot spin the loop. */
const MIN_WAIT_MS = 1_000;

/** The n-th consecutive failure's wait: initial × 2^(n-1), at most max. */
export function backoffMs(failures: number, b: { initialMs: number; maxMs: number } = DEFAULT_BACKOFF): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(failures - 1, 30));
}

/** How long to wait after an outcome: until the renewal time (plus jitter) if that comes first, else a full check interval. */
export function waitAfter(r: RenewOutcome, o: { now: number; checkEveryMs: number; jitterMs: number; random: () => number }): number {
  if (r.action === 'not-due') {
    const untilDue = r.renewAt.getTime() - o.now;
    if (untilDue < o.checkEveryMs) return Math.max(MIN_WAIT_MS, untilDue + Math.floor(o.random() * o.jitterMs));
  }
  return o.checkEveryMs;
}

/** A wait spread by ±10% (at least MIN_WAIT_MS). */
export function spread(ms: number, random: () => number): number {
  return Math.max(MIN_WAIT_MS, Math.round(ms * (0.9 + 0.2 * random())));
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs until the signal aborts. A first round that fails for a reason retrying cannot fix (no
 * enrollment in the directory, an invalid state file: a `config` or `malformed` error) is thrown,
 * so a mistyped --out exits 1 at once instead of retrying for ever.
 */
export async function runRenewDaemon(o: DaemonOptions): Promise<void> {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const sleep = o.sleep ?? abortableSleep;
  let failures = 0;
  let succeeded = false;
  while (!o.signal.aborted) {
    let wait: number;
    try {
      const r = await o.renewOnce();
      succeeded = true;
      failures = 0;
      o.onOutcome?.(r);
      wait = waitAfter(r, { now: now(), checkEveryMs: o.checkEveryMs, jitterMs: o.jitterMs ?? 0, random });
    } catch (e) {
      if (!succeeded && (isCaError(e, 'config') || isCaError(e, 'malformed'))) throw e;
      failures++;
      wait = backoffMs(failures, o.backoff);
      o.onFailure?.(e, wait);
    }
    await sleep(spread(wait, random), o.signal);
  }
}
