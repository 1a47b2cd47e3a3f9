import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildLevels,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  levelsReader,
  nodeHash,
  rootAt,
  verifyConsistency,
  verifyInclusion,
} from '../../src/tlog/merkle.ts';
import { checkpointText, ed25519Raw, openCheckpoint, parseVerifierKey, signedNote, verifierKey } from '../../src/tlog/note.ts';
import { formatIndex, parseTilePath, tilePath } from '../../src/tlog/tiles.ts';

/** RFC 9162 §2.1.1 MTH written the naive way: what the stored-node code must agree with. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k))) as Buffer;
}

const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)) as Buffer);
const levels = buildLevels(Buffer.concat(leaves));
const read = levelsReader(levels);

describe('merkle tree (RFC 9162)', () => {
  it('ok/leaf and node hashes are domain-separated (0x00 / 0x01) and the empty root is SHA-256("")', () => {
    expect(Buffer.from(leafHash(Buffer.alloc(0))).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(Buffer.from(EMPTY_ROOT).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('ok/roots from stored subtrees equal the naive MTH for every size', () => {
    for (let n = 0; n <= leaves.length; n++) expect(Buffer.from(rootAt(read, n))).toEqual(mth(leaves.slice(0, n)));
  });

  it('ok/every inclusion proof verifies; a wrong leaf, root or path hash does not', () => {
    for (let n = 1; n <= 40; n++) {
      const root = rootAt(read, n);
      for (let m = 0; m < n; m++) {
        const p = inclusionProof(read, m, n);
        expect(verifyInclusion(leaves[m]!, m, n, p, root)).toBe(true);
        expect(verifyInclusion(leaves[(m + 1) % n]!, m, n, p, root)).toBe(n === 1 ? leaves[(m + 1) % n] === leaves[m] : false);
        expect(verifyInclusion(leaves[m]!, m, n, p, rootAt(read, n + 1))).toBe(false);
        if (p.length) expect(verifyInclusion(leaves[m]!, m, n, [...p.slice(1), p[0]!].map((h, i) => (i === 0 ? Buffer.alloc(32) : h)), root)).toBe(false);
      }
    }
  });

  it('ok/every consistency proof verifies; swapped roots and wrong sizes do not', () => {
    for (let n2 = 1; n2 <= 40; n2++) {
      for (let n1 = 1; n1 <= n2; n1++) {
        const p = consistencyProof(read, n1, n2);
        const r1 = rootAt(read, n1);
        const r2 = rootAt(read, n2);
        expect(verifyConsistency(n1, n2, p, r1, r2)).toBe(true);
        if (n1 < n2) {
          expect(verifyConsistency(n1, n2, p, r2, r1)).toBe(false);
          expect(verifyConsistency(n1, n2, p, rootAt(read, n1 + 1), r2)).toBe(false);
        }
      }
    }
  });

  it('bad/proofs for leaves or sizes outside the tree are refused, not invented', () => {
    expect(() => inclusionProof(read, 5, 5)).toThrow(RangeError);
    expect(() => consistencyProof(read, 6, 5)).toThrow(RangeError);
    expect(() => rootAt(read, 71)).toThrow(RangeError);
  });
});

describe('tiles paths (C2SP tlog-tiles)', () => {
  it('ok/indices are written in x-prefixed 3-digit groups and read back', () => {
    expect(formatIndex(1234067)).toBe('x001/x234/067');
    expect(formatIndex(5)).toBe('005');
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: null, index: 3, width: 17 })).toBe('tile/entries/003.p/17');
    for (const p of ['0/x001/x234/067', 'entries/003.p/17', '2/000', '1/x999/999.p/255']) expect(tilePath(parseTilePath(p))).toBe(`tile/${p}`);
  });

  it('bad/every other spelling is malformed', () => {
    for (const p of ['0/5', '0/0005', '0/x000/005', '0/005.p/256', '0/005.p/0', '0/005.p/07', '9/000', '01/000', 'x/000', '0/005/', '../0/005', '0/x01/005', '0/x001/x002/x003/x004/x005/006']) {
      expect(() => parseTilePath(p), p).toThrow(/not a tile path/);
    }
  });
});

describe('signed checkpoints (C2SP signed-note)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = ed25519Raw(publicKey.export({ type: 'spki', format: 'der' }));
  const text = checkpointText({ origin: 'ca.example/log', size: 70, root: rootAt(read, 70) });
  const note = signedNote(text, 'ca.example/log', raw, sign(null, Buffer.from(text), privateKey));
  const key = parseVerifierKey(verifierKey('ca.example/log', raw));

  it('ok/a signed checkpoint opens with its verifier key', () => {
    expect(note).toMatch(/^ca\.example\/log\n70\n[A-Za-z0-9+/]{43}=\n\n— ca\.example\/log [A-Za-z0-9+/]+=*\n$/);
    expect(openCheckpoint(note, key)).toMatchObject({ origin: 'ca.example/log', size: 70 });
  });

  it('bad/an altered size, another key or a stripped signature is refused with the reason', () => {
    expect(() => openCheckpoint(note.replace('\n70\n', '\n71\n'), key)).toThrow(/does not verify/);
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    expect(() => openCheckpoint(note, parseVerifierKey(verifierKey('ca.example/log', ed25519Raw(other))))).toThrow(/no signature by the log key/);
    expect(() => openCheckpoint(text, key)).toThrow(/not a signed note/);
    expect(() => parseVerifierKey('ca.example/log+00000000+AQ==')).toThrow(/not an Ed25519/);
  });
});
