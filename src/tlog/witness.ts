import { CaError } from '../domain/errors.ts';
import { verifyConsistency, type Hash } from './merkle.ts';
import { openCheckpoint, type Checkpoint, type VerifierKey } from './note.ts';

/**
 * One witness step (the cosigning-witness idea of C2SP tlog-witness, without cosigning): the
 * last checkpoint the witness kept, the log's current one and a consistency proof between them.
 * The current checkpoint is accepted only when it is signed by the pinned key and its tree
 * extends the kept one; a smaller tree is a rollback, a different tree of the same or larger
 * size a fork. Throws a CaError (`conflict`) saying which.
 */
export function witnessStep(key: VerifierKey, kept: string | null, current: string, proof: readonly Hash[] | null): { previous: Checkpoint | null; current: Checkpoint } {
  const now = openCheckpoint(current, key);
  if (kept === null) return { previous: null, current: now };
  const before = openCheckpoint(kept, key);
  if (now.size < before.size) {
    throw new CaError('conflict', `ROLLBACK: the log now has ${now.size} entries but this witness saw a signed checkpoint of ${before.size}: the database was rolled back or entries were removed`);
  }
  if (!verifyConsistency(before.size, now.size, proof ?? [], before.root, now.root)) {
    throw new CaError('conflict', `FORK: the checkpoint of ${now.size} entries does not extend the one of ${before.size} this witness saw (no valid consistency proof): the log was rewritten`);
  }
  return { previous: before, current: now };
}
