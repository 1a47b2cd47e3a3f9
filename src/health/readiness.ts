import type { Clock } from '../domain/clock.ts';
import type { IssuerKeyHealth, SignOutcome } from '../authority/issuer-key.ts';
import { HeartbeatRepository } from '../store/heartbeat.ts';
import type { Db } from '../store/sqlite.ts';
import type { CrlView } from '../metrics/metrics.ts';

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface ReadyReport {
  ready: boolean;
  /** The first failing check, in words (absent when ready). */
  reason?: string;
  checks: { database: CheckResult; signer: CheckResult; crl: CheckResult; log?: CheckResult };
}

export interface ReadinessDeps {
  db: Db;
  /** The issuing key as the authority lets it be seen: last outcome and a probe. */
  key: IssuerKeyHealth;
  crls: CrlView;
  clock: Clock;
  /** A real signature within this long counts as proof the signer works (default 60 s). */
  signerProofMs?: number;
  /** The transparency log's start check (#17): why issuance is refused, or null. */
  log?: { readonly refusal: string | null; readonly checking?: string | null };
}

const RETRY_AFTER_FAILURE_MS = 5_000;

/**
 * Readiness (/readyz): can this process do its job right now? The database takes a durable
 * write, the issuing key signs, and every CRL shard is current (nextUpdate in the future).
 * The signer check reuses the outcome of a recent real signature; otherwise it signs a probe,
 * at most once per `signerProofMs`, so an HSM is not asked on every probe.
 */
export class Readiness {
  readonly #d: ReadinessDeps;
  readonly #heartbeat: HeartbeatRepository;
  #probe: SignOutcome | null = null;
  #probing: Promise<SignOutcome> | null = null;

  constructor(d: ReadinessDeps) {
    this.#d = d;
    this.#heartbeat = new HeartbeatRepository(d.db);
  }

  async check(): Promise<ReadyReport> {
    const database = this.#database();
    const signer = await this.#signer();
    const crl = this.#crl();
    const log = this.#d.log ? this.#log(this.#d.log.refusal, this.#d.log.checking ?? null) : undefined;
    const checks = { database, signer, crl, ...(log ? { log } : {}) };
    const failing = (Object.entries(checks) as [string, CheckResult][]).find(([, c]) => !c.ok);
    return { ready: !failing, ...(failing ? { reason: `${failing[0]}: ${failing[1].detail}` } : {}), checks };
  }

  #database(): CheckResult {
    try {
      this.#heartbeat.beat(this.#d.clock.now());
      return { ok: true, detail: 'writable' };
    } catch (e) {
      return { ok: false, detail: `cannot write: ${(e as Error).message}` };
    }
  }

  async #signer(): Promise<CheckResult> {
    const window = this.#d.signerProofMs ?? 60_000;
    const now = Date.now();
    const real = this.#d.key.lastSign;
    const recent = [real, this.#probe].filter((o): o is SignOutcome => o !== null && now - o.at < window).sort((a, b) => b.at - a.at)[0];
    // After a failure, probe again (at most every few seconds) so a recovered key store is noticed without waiting for traffic.
    const outcome = recent && (recent.ok || now - recent.at < RETRY_AFTER_FAILURE_MS) ? recent : await this.#probeOnce();
    return outcome.ok ? { ok: true, detail: 'signs' } : { ok: false, detail: `cannot sign: ${outcome.error ?? 'unknown error'}` };
  }

  #probeOnce(): Promise<SignOutcome> {
    this.#probing ??= this.#d.key.probe().then((o) => {
      this.#probe = o;
      this.#probing = null;
      return o;
    });
    return this.#probing;
  }

  /**
   * Ready while the start check runs (#21): the instance serves what it is asked most (OCSP, CRLs,
   * the log) and answers issuance with 503 + Retry-After until the check passes, which a client
   * retries; keeping it out of a balancer for those seconds would refuse everything instead. The
   * detail says so; a refusal (the check failed) is not ready.
   */
  #log(refusal: string | null, checking: string | null): CheckResult {
    if (refusal) return { ok: false, detail: refusal };
    return checking ? { ok: true, detail: `checking: ${checking} (issuance answers 503 with Retry-After until it passes)` } : { ok: true, detail: 'database matches the signed log' };
  }

  #crl(): CheckResult {
    const now = this.#d.clock.now().getTime();
    for (let s = 0; s < this.#d.crls.shards; s++) {
      const c = this.#d.crls.current(s);
      if (!c) return { ok: false, detail: `shard ${s} has no CRL yet` };
      if (c.nextUpdate.getTime() <= now) return { ok: false, detail: `shard ${s} expired at ${c.nextUpdate.toISOString()}` };
    }
    return { ok: true, detail: `${this.#d.crls.shards} shard(s) current` };
  }
}
