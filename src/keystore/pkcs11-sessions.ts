import { CaError } from '../domain/errors.ts';
import type { KeyStoreEvent } from './keystore.ts';
import { describe, finalizeOnce, initialize, isModuleLoss, isSessionLoss, moduleEpoch, pkcs11Code, pkcs11js, readUlong, type Handle, type Pkcs11 } from './pkcs11-module.ts';

/** Backoff between reconnect attempts while the token stays away: 0.1 s doubling to 5 s. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;
/** How long a re-initialization waits for this store's operations in flight before finalizing under them. */
const DRAIN_BEFORE_FINALIZE_MS = 2_000;

export interface TokenSelector {
  /** Token label (CKA_LABEL of the token, as in `softhsm2-util --show-slots`). */
  token?: string;
  /** Slot ID, as `pkcs11-tool --list-slots` prints it. */
  slot?: number;
}

/** What an operation gets: a logged-in session, and the generation it belongs to (for caches of object handles). */
export interface SessionContext {
  p11: Pkcs11;
  session: Handle;
  generation: number;
}

/**
 * Logged-in sessions on one token, shared by concurrent operations.
 *
 * A PKCS#11 session runs one operation at a time, so each operation borrows a session
 * of its own (up to `maxSessions`; more wait). Login state belongs to the application,
 * so every session opened after the first login is logged in too.
 *
 * When the module reports the session or device gone, every session of the current
 * generation is dropped, the token is found again by label (it may come back in another
 * slot), one session is opened and logged in, and the operation is retried once. When the
 * error means the module lost the token (isModuleLoss), or a reconnect failed, the next
 * attempt first finalizes and initializes the module again (SoftHSM2 reads its tokens only
 * then). While the token stays away, attempts are spaced by a backoff (0.1 s doubling to 5 s)
 * and requests in between fail at once with the last error, so the store recovers by itself
 * at the next request or readiness probe after the token is back.
 */
export class TokenSessions {
  readonly #p11: Pkcs11;
  readonly #selector: TokenSelector;
  readonly #pin: string;
  readonly #maxSessions: number;
  #generation = 0;
  #slot: Handle | null = null;
  #idle: Handle[] = [];
  #openCount = 0;
  #waiters: (() => void)[] = [];
  #connecting: Promise<void> | null = null;
  #closed = false;
  #borrowed = 0;
  /** Handles of this generation's sessions: a module may hand a dead session's number to a new one. */
  #current = new Set<string>();
  #drained: (() => void)[] = [];
  #listeners: ((e: KeyStoreEvent) => void)[] = [];
  /** The module epoch this store's sessions were opened in (pkcs11-module.ts finalizeOnce). */
  #epoch: number;
  /** Set by a module-loss error or a failed reconnect: the next reconnect re-initializes the module. */
  #reinitialize = false;
  #failures = 0;
  #retryAt = 0;
  #lastFailure: unknown = null;
  /** Reconnect attempts made, so a request refused during the backoff reports no event of its own. */
  #attempts = 0;

  constructor(p11: Pkcs11, selector: TokenSelector, pin: string, maxSessions = 4) {
    this.#p11 = p11;
    this.#selector = selector;
    this.#pin = pin;
    this.#maxSessions = maxSessions;
    this.#epoch = moduleEpoch(p11);
  }

  /** Reports each session loss and whether the reconnect-and-retry recovered from it. */
  onEvent(listener: (e: KeyStoreEvent) => void): void {
    this.#listeners.push(listener);
  }

  #emit(e: KeyStoreEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A listener (metrics, audit) must never break signing.
      }
    }
  }

  get generation(): number {
    return this.#generation;
  }

  /** Opens the first session and logs in: a wrong PIN or a missing token fails here, at startup. */
  async connect(): Promise<void> {
    await this.#reconnect(this.#generation);
  }

  /** Runs `op` on a borrowed session; after a session loss, reconnects and retries once. */
  async run<T>(what: string, op: (ctx: SessionContext) => Promise<T>): Promise<T> {
    // The generation of the session that failed (not the one current when we started): only that one is stale.
    let used = this.#generation;
    const tracked = (ctx: SessionContext) => {
      used = ctx.generation;
      return op(ctx);
    };
    try {
      return await this.#withSession(tracked);
    } catch (e) {
      if (!isSessionLoss(e)) throw this.#wrap(what, e);
      if (isModuleLoss(e)) this.#reinitialize = true;
      const attempts = this.#attempts;
      try {
        await this.#reconnect(used);
      } catch (again) {
        const failure = this.#wrap(`${what} (reconnecting after ${describe(e)})`, again);
        // One event per attempt, not one per request refused while the token stays away.
        if (this.#attempts !== attempts) this.#emit({ kind: 'session-lost', operation: what, recovered: false, detail: failure.message });
        throw failure;
      }
      try {
        const result = await this.#withSession(op);
        this.#emit({ kind: 'session-lost', operation: what, recovered: true, detail: describe(e) });
        return result;
      } catch (again) {
        const failure = this.#wrap(`${what} (after reconnecting)`, again);
        this.#emit({ kind: 'session-lost', operation: what, recovered: false, detail: failure.message });
        throw failure;
      }
    }
  }

  /** Closes the idle sessions, lets operations in flight finish (their sessions close on release), then returns. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = [];
    for (const s of idle) this.#closeQuietly(s);
    for (const wake of this.#waiters.splice(0)) wake();
    // The caller may finalize the library next: never under a C_Sign still running on another thread.
    while (this.#borrowed > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
  }

  #wrap(what: string, e: unknown): CaError {
    if (e instanceof CaError) return e;
    return new CaError('keyStore', `PKCS#11 ${what} failed on token ${this.#tokenName()}: ${describe(e)}`, { cause: e });
  }

  #tokenName(): string {
    return this.#selector.token !== undefined ? `"${this.#selector.token}"` : `in slot ${this.#selector.slot}`;
  }

  async #withSession<T>(op: (ctx: SessionContext) => Promise<T>): Promise<T> {
    if (this.#connecting) await this.#connecting;
    const { session, generation } = await this.#acquire();
    try {
      return await op({ p11: this.#p11, session, generation });
    } finally {
      this.#borrowed--;
      this.#release(session, generation);
      if (this.#borrowed === 0) for (const done of this.#drained.splice(0)) done();
    }
  }

  async #acquire(): Promise<{ session: Handle; generation: number }> {
    for (;;) {
      if (this.#closed) throw new CaError('keyStore', `the PKCS#11 key store for token ${this.#tokenName()} is closed`);
      if (this.#connecting) await this.#connecting;
      // No token after a failed reconnect: try again for this request rather than wait forever.
      if (!this.#slot) {
        await this.#reconnect(this.#generation);
        continue;
      }
      // Counted as borrowed in the same tick it is handed out, so close() cannot miss it.
      const idle = this.#idle.pop();
      if (idle) {
        this.#borrowed++;
        return { session: idle, generation: this.#generation };
      }
      if (this.#openCount < this.#maxSessions) {
        this.#openCount++;
        try {
          const session = this.#openSession(this.#slot);
          this.#borrowed++;
          return { session, generation: this.#generation };
        } catch (e) {
          this.#openCount--;
          throw e;
        }
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #release(session: Handle, generation: number): void {
    if (generation !== this.#generation) {
      // A session from before a reconnect: dead or about to be; unless its number now belongs to a new session.
      if (!this.#current.has(session.toString('hex'))) this.#closeQuietly(session);
    } else if (this.#closed) {
      this.#closeQuietly(session);
    } else {
      this.#idle.push(session);
    }
    this.#waiters.shift()?.();
  }

  /** Starts a new generation unless another caller already did so after `failedGeneration`. */
  async #reconnect(failedGeneration: number): Promise<void> {
    if (this.#closed) throw new CaError('keyStore', `the PKCS#11 key store for token ${this.#tokenName()} is closed`);
    if (this.#connecting) return this.#connecting;
    if (failedGeneration !== this.#generation) return;
    // The token is still away: fail at once with what the last attempt saw, until the backoff ends.
    if (Date.now() < this.#retryAt) throw this.#lastFailure;
    this.#generation++;
    const stale = this.#idle;
    this.#idle = [];
    this.#openCount = 0;
    this.#slot = null;
    this.#current.clear();
    for (const s of stale) this.#closeQuietly(s);
    this.#connecting = this.#attempt().finally(() => {
      this.#connecting = null;
      for (const wake of this.#waiters.splice(0)) wake();
    });
    return this.#connecting;
  }

  /** One reconnect, re-initializing the module first when needed; a failure arms the backoff. */
  async #attempt(): Promise<void> {
    this.#attempts++;
    try {
      if (this.#reinitialize) {
        // Never C_Finalize under a C_Sign of ours still running on the thread pool (it is failing anyway).
        if (this.#borrowed > 0) {
          await Promise.race([new Promise<void>((resolve) => this.#drained.push(resolve)), new Promise((resolve) => setTimeout(resolve, DRAIN_BEFORE_FINALIZE_MS).unref())]);
        }
        this.#epoch = finalizeOnce(this.#p11, this.#epoch);
      }
      await this.#openAndLogin();
    } catch (e) {
      this.#failures++;
      this.#retryAt = Date.now() + Math.min(RETRY_FIRST_MS * 2 ** (this.#failures - 1), RETRY_MAX_MS);
      this.#lastFailure = e;
      // Whatever failed, the module's view of the token may be stale: start from a fresh one next time.
      this.#reinitialize = true;
      throw e;
    }
    // Back after failed attempts: the request that found it may not be one that saw it go (run reports those).
    if (this.#failures > 0) this.#emit({ kind: 'session-lost', operation: 'reconnecting', recovered: true, detail: `token ${this.#tokenName()} reachable again after ${this.#failures} failed attempt(s)` });
    this.#failures = 0;
    this.#retryAt = 0;
    this.#lastFailure = null;
    this.#reinitialize = false;
  }

  async #openAndLogin(): Promise<void> {
    // After C_Finalize by anyone in this process the library needs initializing again.
    initialize(this.#p11);
    const slot = this.#findSlot();
    const session = this.#openSession(slot);
    try {
      this.#p11.C_Login(session, pkcs11js.CKU_USER, this.#pin);
    } catch (e) {
      const code = pkcs11Code(e);
      if (code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
        this.#closeQuietly(session);
        if (code === pkcs11js.CKR_PIN_INCORRECT || code === pkcs11js.CKR_PIN_LEN_RANGE) {
          throw new CaError('keyStore', `PKCS#11 login to token ${this.#tokenName()} failed: wrong PIN`, { cause: e });
        }
        if (code === pkcs11js.CKR_PIN_LOCKED) throw new CaError('keyStore', `the user PIN of token ${this.#tokenName()} is locked`, { cause: e });
        throw this.#wrap('login', e);
      }
    }
    this.#slot = slot;
    this.#openCount = 1;
    this.#idle.push(session);
  }

  #openSession(slot: Handle): Handle {
    const session = this.#p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    this.#current.add(session.toString('hex'));
    return session;
  }

  #closeQuietly(session: Handle): void {
    this.#current.delete(session.toString('hex'));
    try {
      this.#p11.C_CloseSession(session);
    } catch {
      // Already closed underneath us (the reason we are dropping it).
    }
  }

  #findSlot(): Handle {
    let slots: Handle[];
    try {
      slots = this.#p11.C_GetSlotList(true);
    } catch (e) {
      throw this.#wrap('listing slots', e);
    }
    const { token, slot } = this.#selector;
    for (const s of slots) {
      if (slot !== undefined && readUlong(s) === slot) return s;
      if (token !== undefined && this.#p11.C_GetTokenInfo(s).label.trim() === token) return s;
    }
    throw new CaError('keyStore', `no PKCS#11 token ${this.#tokenName()} is present`);
  }
}
