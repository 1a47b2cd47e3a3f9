import type { Clock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hash.ts';
import { silentLogger, type Logger } from '../domain/log.ts';
import type { LogSigner } from '../domain/signer.ts';
import type { KeyStore } from '../keystore/keystore.ts';
import type { Store } from '../store/store.ts';
import type { StoredCheckpoint, TlogRepository } from '../store/tlog.ts';
import type { Db } from '../store/sqlite.ts';
import { startInventoryCheck } from '../store/inventory-check.ts';
import { recomputeLog } from '../store/tlog-audit.ts';
import { levelsReader, rootAt } from '../tlog/merkle.ts';
import { checkKeyName, checkpointText, ed25519Raw, parseVerifierKey, signedNote, verifierKey, type VerifierKey } from '../tlog/note.ts';
import { checkpointFindings } from '../tlog/verify.ts';

export interface CheckpointerOptions {
  store: Store;
  keyStore: KeyStore;
  keyLabel: string;
  origin: string;
  clock: Clock;
  logger?: Logger;
  /** Least time between two checkpoints while the log grows (the brief's "at most every second"). */
  intervalMs?: number;
}

/** What a start check found: nothing (ok) or why issuance is refused. */
export interface LogCheck {
  ok: boolean;
  findings: string[];
  size: number;
}

/** The full check's verdict, computed here or on other threads (instance/log-check.ts). */
export interface LogFindings {
  size: number;
  findings: string[];
}

/** How soon a client refused while the start check runs should ask again (seconds, Retry-After). */
export const LOG_CHECK_RETRY_S = 5;

/**
 * The tree half of the start check on one connection (call it inside a read transaction when
 * others write): every leaf and stored node recomputed from the audit trail, and the recomputed
 * tree held to the latest signed checkpoint, so an edited event is found even when its stored
 * hashes were recomputed to match.
 */
export function treeFindings(db: Db, checkpoints: Pick<TlogRepository, 'latestCheckpoint'>, key: VerifierKey): LogFindings {
  const { size, levels, findings } = recomputeLog(db);
  const last = checkpoints.latestCheckpoint();
  if (last) findings.push(...checkpointFindings(last.note, key, levelsReader(levels), size));
  return { size, findings };
}

/**
 * Signs the transparency log's checkpoints with the log's Ed25519 key (C2SP tlog-checkpoint), the
 * only holder of that key. Appends happen in the acts' own transactions (store/tlog.ts); this
 * signs the tree they grew, coalesced to at most one checkpoint per interval, and never signs a
 * tree that does not extend its last checkpoint: a database found altered (`check`, or an
 * inconsistent prefix when signing) sets `refusal`, and the authority then issues nothing.
 */
export class Checkpointer {
  readonly origin: string;
  readonly verifierKey: string;
  readonly #key: VerifierKey;
  readonly #signer: LogSigner;
  readonly #o: CheckpointerOptions;
  #logger: Logger;
  #refusal: string | null = null;
  /** Set while the start check runs: issuance is held and nothing is signed (#21). */
  #checking: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  #lastSignedAt = 0;
  #signing: Promise<StoredCheckpoint | null> | null = null;

  /** null when the key store cannot hold an Ed25519 key (a token without EdDSA: docs/operations.md): the log then grows unsigned. */
  static async open(o: CheckpointerOptions): Promise<Checkpointer | null> {
    if (!o.keyStore.getLogSigner) return null;
    checkKeyName(o.origin);
    let signer: LogSigner;
    try {
      signer = await o.keyStore.getLogSigner({ label: o.keyLabel });
    } catch (e) {
      if (!(e instanceof CaError && e.kind === 'notFound')) throw e;
      // An instance made before the log (#17) gets its key at its first open, on the record.
      // A token without Ed25519 (no CKM_EC_EDWARDS_KEY_PAIR_GEN) leaves the log unsigned rather than the CA closed.
      const info = await o.keyStore.createKey({ label: o.keyLabel, alg: 'ed25519' }).catch((err: unknown) => {
        if (err instanceof CaError && err.kind === 'keyStore') return null;
        throw err;
      });
      if (!info) return null;
      o.store.transaction(() => o.store.audit.append({ at: o.clock.now(), action: 'keystore.key.created', actor: 'system', target: info.label, details: { role: 'log', alg: info.alg, store: info.store, spkiSha256: sha256Hex(info.publicKeySpki) } }));
      signer = await o.keyStore.getLogSigner({ label: o.keyLabel });
    }
    return new Checkpointer(o, signer);
  }

  private constructor(o: CheckpointerOptions, signer: LogSigner) {
    this.#o = o;
    this.#signer = signer;
    this.#logger = o.logger ?? silentLogger;
    this.origin = o.origin;
    this.verifierKey = verifierKey(o.origin, ed25519Raw(signer.publicKeySpki));
    this.#key = parseVerifierKey(this.verifierKey);
  }

  set logger(l: Logger) {
    this.#logger = l;
  }

  /** Why issuance is refused (the database does not match the signed log), or null. */
  get refusal(): string | null {
    return this.#refusal;
  }

  /** Why issuance is held for now (the start check is running), or null. */
  get checking(): string | null {
    return this.#checking;
  }

  /**
   * The start check, here: recompute the whole tree from the audit trail, hold it to the last
   * signed checkpoint, and the inventory to the log. Any finding refuses issuance until an operator acts.
   */
  check(): Promise<LogCheck> {
    return this.checkWith(async () => {
      const db = this.#o.store.db;
      const inventory = startInventoryCheck(db);
      const tree = treeFindings(db, this.#o.store.audit.log, this.#key);
      return { size: tree.size, findings: [...tree.findings, ...(await inventory())] };
    });
  }

  /**
   * The start check with the full recompute done by `run` (another thread while `pki serve`
   * already answers, #21). First, at once and before anything else is signed, the stored tree is
   * held to the last signed checkpoint (O(log n) reads, what every signing checks): a log whose
   * signed prefix changed is refused right away. Until `run` reports, issuance is held
   * (`checking`) and no checkpoint is signed; its findings then refuse, as `check` does.
   */
  async checkWith(run: () => Promise<LogFindings>): Promise<LogCheck> {
    const log = this.#o.store.audit.log;
    const size = log.size();
    const last = log.latestCheckpoint();
    const quick = last ? checkpointFindings(last.note, this.#key, log.reader, size) : [];
    if (quick.length) this.#refuse(quick);
    this.#checking = `the transparency log (${size} entries) is being checked against its signed checkpoint since this server started: issuance resumes when the check passes`;
    try {
      const full = await run();
      const findings = [...full.findings, ...quick.filter((q) => !full.findings.includes(q))];
      if (findings.length) this.#refuse(findings);
      return { ok: findings.length === 0, findings, size: full.size };
    } catch (e) {
      this.#refuse([`the start check failed: ${(e as Error).message}`]);
      throw e;
    } finally {
      this.#checking = null;
    }
  }

  #refuse(findings: string[]): void {
    this.#refusal = `the database does not match the signed transparency log (${findings[0]}${findings.length > 1 ? `; ${findings.length - 1} more` : ''}): issuance is refused until it is restored (pki audit verify)`;
    this.#logger.error('tlog.refused', { findings });
  }

  /** Signs a checkpoint of the current tree unless the last one already covers it. */
  signNow(): Promise<StoredCheckpoint | null> {
    // One signing at a time; a call during one waits for it and signs what it missed.
    const run = async (): Promise<StoredCheckpoint | null> => {
      if (this.#refusal || this.#checking) return null;
      const log = this.#o.store.audit.log;
      const last = log.latestCheckpoint();
      // Nothing new (the once-a-second poll, mostly): no flush, no signature.
      if (last && last.size >= log.size()) return last;
      // Only entries already on disk are signed: an act committed on the group-commit connection
      // may still await its WAL flush, and a checkpoint must never outlive (power loss) what it covers.
      const size = await this.#o.store.durably(() => log.size());
      // Never extend a tree whose signed prefix changed (O(log n) reads).
      const findings = last ? checkpointFindings(last.note, this.#key, log.reader, size) : [];
      if (findings.length) {
        this.#refuse(findings);
        return null;
      }
      const text = checkpointText({ origin: this.origin, size, root: rootAt(log.reader, size) });
      const note = signedNote(text, this.origin, ed25519Raw(this.#signer.publicKeySpki), await this.#signer.sign(Buffer.from(text, 'utf8')));
      const c = { size, note, signedAt: this.#o.clock.now() };
      this.#o.store.transaction(() => log.saveCheckpoint(c));
      this.#lastSignedAt = Date.now();
      return c;
    };
    const next = (this.#signing ?? Promise.resolve(null)).catch(() => null).then(run);
    this.#signing = next;
    return next;
  }

  /** After an act: a checkpoint within the interval, coalescing every act until then. */
  schedule(): void {
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastSignedAt + (this.#o.intervalMs ?? 1000) - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.signNow().catch((e: unknown) => this.#logger.error('tlog.checkpoint-failed', { error: (e as Error).message }));
    }, wait);
    this.#timer.unref();
  }

  /** Follows appends made by other processes (the CLI) too: a check each interval. */
  start(): void {
    if (this.#poll) return;
    this.#poll = setInterval(() => this.schedule(), this.#o.intervalMs ?? 1000);
    this.#poll.unref();
  }

  /** Stops the timers and signs what is pending, so a clean stop leaves the log signed. */
  async stop(): Promise<void> {
    if (this.#poll) clearInterval(this.#poll);
    if (this.#timer) clearTimeout(this.#timer);
    this.#poll = this.#timer = null;
    await this.signNow().catch(() => null);
  }
}
