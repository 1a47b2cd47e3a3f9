import { createHash, hash } from 'node:crypto';

/**
 * Merkle tree hashing and proofs of RFC 9162 §2.1 (the same tree as RFC 6962 and Go's sumdb/tlog):
 * a leaf hashes as SHA-256(0x00 || data), an interior node as SHA-256(0x01 || left || right), and a
 * tree of n leaves splits at the largest power of two below n.
 *
 * Stored nodes are the roots of complete, aligned subtrees: node (level, index) covers leaves
 * [index·2^level, (index+1)·2^level). Everything here reads only those, so a proof costs O(log n) reads.
 */
export type Hash = Uint8Array;

/** Reads the stored hash of a complete subtree; throws when the store does not hold it. */
export type NodeReader = (level: number, index: number) => Hash;

const LEAF_PREFIX = Buffer.from([0x00]);
/** 0x01 ‖ left ‖ right, reused: one-shot crypto.hash over it costs half a createHash chain. */
const node = Buffer.alloc(65, 0x01);

/** The leaf hash of `data` (bytes, or text taken as UTF-8). */
export function leafHash(data: Uint8Array | string): Hash {
  if (typeof data === 'string') return hash('sha256', `\0${data}`, 'buffer');
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  node.set(left, 1);
  node.set(right, 33);
  return hash('sha256', node, 'buffer');
}

/** RFC 9162 §2.1.1: the root of the empty tree is the hash of the empty string. */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/**
 * The hash of leaves [start, end), MTH(D[start:end]). `start` is a multiple of the split's power
 * of two in every call RFC 9162's recursions make, so each complete piece is one stored node.
 */
export function subtreeHash(read: NodeReader, start: number, end: number): Hash {
  const n = end - start;
  if (n <= 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n) && start % n === 0) return read(Math.log2(n), start / n);
  const k = splitPoint(n);
  return nodeHash(subtreeHash(read, start, start + k), subtreeHash(read, start + k, end));
}

/** The root of the tree of the first `size` leaves. */
export function rootAt(read: NodeReader, size: number): Hash {
  return subtreeHash(read, 0, size);
}

/** RFC 9162 §2.1.3.1: the inclusion proof (audit path) of leaf `index` in the tree of `size` leaves. */
export function inclusionProof(read: NodeReader, index: number, size: number): Hash[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = (m: number, start: number, end: number): Hash[] => {
    const n = end - start;
    if (n === 1) return [];
    const k = splitPoint(n);
    return m < k ? [...path(m, start, start + k), subtreeHash(read, start + k, end)] : [...path(m - k, start + k, end), subtreeHash(read, start, start + k)];
  };
  return path(index, 0, size);
}

/** RFC 9162 §2.1.4.1: the consistency proof from the tree of `size1` leaves to the one of `size2`. */
export function consistencyProof(read: NodeReader, size1: number, size2: number): Hash[] {
  if (!(size1 >= 0 && size1 <= size2)) throw new RangeError(`no consistency proof from ${size1} to ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const sub = (m: number, start: number, end: number, whole: boolean): Hash[] => {
    const n = end - start;
    if (m === n) return whole ? [] : [subtreeHash(read, start, end)];
    const k = splitPoint(n);
    return m <= k
      ? [...sub(m, start, start + k, whole), subtreeHash(read, start + k, end)]
      : [...sub(m - k, start + k, end, false), subtreeHash(read, start, start + k)];
  };
  return sub(size1, 0, size2, true);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * One step of RFC 9162's verification walk (§2.1.3.2, §2.1.4.2) at node `fn` of last node `sn`:
 * whether the next proof hash is the left sibling, and the walk's next position.
 */
function step(fn: number, sn: number): { left: boolean; fn: number; sn: number } {
  const left = fn % 2 === 1 || fn === sn;
  // A right-edge node with no sibling at this level: climb until it is a right child or the root.
  if (left && fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  return { left, fn: Math.floor(fn / 2), sn: Math.floor(sn / 2) };
}

/** RFC 9162 §2.1.3.2: does `proof` show leaf `leaf` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): boolean {
  if (!(index >= 0 && index < size)) return false;
  let [fn, sn, r] = [index, size - 1, leaf];
  for (const p of proof) {
    if (sn === 0) return false;
    const s = step(fn, sn);
    r = s.left ? nodeHash(p, r) : nodeHash(r, p);
    [fn, sn] = [s.fn, s.sn];
  }
  return sn === 0 && equal(r, root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree of `size1` with `root1` is a prefix of the one of `size2` with `root2`? */
export function verifyConsistency(size1: number, size2: number, proof: readonly Hash[], root1: Hash, root2: Hash): boolean {
  if (size1 < 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (size1 === 0) return proof.length === 0 && equal(root1, EMPTY_ROOT);
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  if (path.length === 0) return false;
  let [fn, sn] = [size1 - 1, size2 - 1];
  while (fn % 2 === 1) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  let [fr, sr] = [path[0]!, path[0]!];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    const s = step(fn, sn);
    if (s.left) [fr, sr] = [nodeHash(c, fr), nodeHash(c, sr)];
    else sr = nodeHash(sr, c);
    [fn, sn] = [s.fn, s.sn];
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}

/**
 * Every stored node of a tree from its leaf hashes (32·n bytes): levels[k] holds the
 * floor(n / 2^k) complete subtrees of height k, contiguous. What `pki audit verify` recomputes.
 */
export function buildLevels(leaves: Buffer): Buffer[] {
  const levels = [leaves];
  for (let below = leaves; below.length >= 64; ) {
    const count = Math.floor(below.length / 64);
    const up = Buffer.allocUnsafe(count * 32);
    for (let i = 0; i < count; i++) (nodeHash(below.subarray(i * 64, i * 64 + 32), below.subarray(i * 64 + 32, i * 64 + 64)) as Buffer).copy(up, i * 32);
    levels.push(up);
    below = up;
  }
  return levels;
}

/** A NodeReader over levels built in memory. */
export function levelsReader(levels: readonly Buffer[]): NodeReader {
  return (level, index) => {
    const l = levels[level];
    if (!l || (index + 1) * 32 > l.length) throw new RangeError(`no node ${level}/${index}`);
    return l.subarray(index * 32, index * 32 + 32);
  };
}
