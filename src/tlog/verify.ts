import { openCheckpoint, type VerifierKey } from './note.ts';
import { rootAt, type NodeReader } from './merkle.ts';

/**
 * What a signed checkpoint says against the tree at hand: its signature by the log key, that the
 * tree still holds at least its size, and that the first `size` leaves still hash to its root.
 * Returns the findings (empty when it holds).
 */
export function checkpointFindings(note: string, key: VerifierKey, read: NodeReader, treeSize: number): string[] {
  let c;
  try {
    c = openCheckpoint(note, key);
  } catch (e) {
    return [`latest checkpoint: ${(e as Error).message} (a database from another instance, or a forged checkpoint)`];
  }
  if (c.size > treeSize) return [`the signed checkpoint covers ${c.size} entries but the log holds ${treeSize}: entries were deleted from the end`];
  if (!Buffer.from(rootAt(read, c.size)).equals(Buffer.from(c.root))) {
    return [`the first ${c.size} entries no longer hash to the signed checkpoint's root: entries were altered, deleted or replaced`];
  }
  return [];
}
