import { createHash } from 'node:crypto';
import type { Store } from '../store/store.ts';
import { THIS_REPLICA } from '../store/leases.ts';

/** Partitions of the serial space for background pre-signing, and how long a lease on one lasts unrenewed. */
const PARTITIONS = 16;
const LEASE_MS = 30_000;

/**
 * Which certificates this replica pre-signs in the background (#22): the serial space is cut into
 * partitions, each leased to one replica at a time, and live replicas (each renewing a presence
 * lease) take a fair share each; a replica that dies stops renewing, and its partitions go to the
 * others when their leases lapse. On SQLite there is one process: it owns everything.
 * Pre-signing at issuance or revocation, and on demand for a request, is not partitioned: the
 * replica that acts or is asked signs.
 */
export class PresignPartitions {
  readonly #store: Store;
  readonly #prefix: string;
  #mine = new Set<number>();

  constructor(store: Store, issuerKeyId: string) {
    this.#store = store;
    this.#prefix = `ocsp:${issuerKeyId}:`;
  }

  /** Whether this replica pre-signs `serial` in the background. */
  owns(serial: string): boolean {
    return !this.#store.shared || this.#mine.has(partitionOf(serial));
  }

  /** Renews this replica's presence and partitions, takes free ones up to its share, gives up the excess. */
  renew(nowMs: number): void {
    if (!this.#store.shared) return;
    const leases = this.#store.leases;
    leases.acquire(`replica:${THIS_REPLICA}`, THIS_REPLICA, nowMs, LEASE_MS);
    const replicas = Math.max(1, leases.held('replica:', nowMs).length);
    const share = Math.ceil(PARTITIONS / replicas);
    const mine = new Set<number>();
    for (const p of [...this.#mine].sort((a, b) => a - b)) {
      if (mine.size < share && leases.acquire(this.#name(p), THIS_REPLICA, nowMs, LEASE_MS)) mine.add(p);
      else leases.release(this.#name(p), THIS_REPLICA);
    }
    for (let p = 0; p < PARTITIONS && mine.size < share; p++) {
      if (!mine.has(p) && leases.acquire(this.#name(p), THIS_REPLICA, nowMs, LEASE_MS)) mine.add(p);
    }
    this.#mine = mine;
  }

  /** Gives every lease up (a clean stop), so the others take over at once. */
  release(): void {
    if (!this.#store.shared) return;
    for (const p of this.#mine) this.#store.leases.release(this.#name(p), THIS_REPLICA);
    this.#store.leases.release(`replica:${THIS_REPLICA}`, THIS_REPLICA);
    this.#mine.clear();
  }

  #name(p: number): string {
    return `${this.#prefix}${p}`;
  }
}

function partitionOf(serial: string): number {
  return createHash('sha256').update(serial).digest()[0]! % PARTITIONS;
}
