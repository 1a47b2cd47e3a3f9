import { describe, expect, it } from 'vitest';
import { newId, newToken } from '../../src/acme/ids.ts';
import { pooledRandomBytes, RandomPool, type RandomFill } from '../../src/domain/random-pool.ts';

/** A fill that writes a known, never-repeating stream (a 32-bit big-endian counter per 4 bytes) and records what it wrote. */
function countingFill(): { fill: RandomFill; written: Buffer[] } {
  let word = 0;
  let inWord = 0;
  const written: Buffer[] = [];
  const fill: RandomFill = (t) => {
    for (let i = 0; i < t.length; i++) {
      t[i] = (word >>> (8 * (3 - inWord))) & 0xff;
      if (++inWord === 4) {
        inWord = 0;
        word++;
      }
    }
    written.push(Buffer.from(t));
  };
  return { fill, written };
}

/** Random bytes from a pool: each byte handed out once, as a copy the caller owns. */
describe('RandomPool', () => {
  it('ok/1000 draws of 10 bytes across refills are all distinct and the right length', () => {
    const pool = new RandomPool(256);
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const b = pool.bytes(10);
      expect(b.length).toBe(10);
      seen.add(b.toString('hex'));
    }
    expect(seen.size).toBe(1_000);
    expect(pool.refills).toBeGreaterThanOrEqual(Math.floor((1_000 * 10) / 256));
  });

  it('ok/every byte of every fill is handed out exactly once, in order, whatever the draw sizes and methods', () => {
    const { fill, written } = countingFill();
    const pool = new RandomPool(64, fill);
    const out: Buffer[] = [];
    const sizes = [10, 10, 7, 1, 0, 63, 64, 65, 200, 3, 32, 12, 16, 5, 128, 10, 9, 11];
    for (let round = 0; round < 20; round++) {
      for (const [j, n] of sizes.entries()) {
        if (j % 3 === 0) out.push(pool.bytes(n));
        else if (j % 3 === 1) out.push(Buffer.from(pool.base64url(n), 'base64url'));
        else {
          const t = Buffer.alloc(n + 4, 0xee);
          pool.fillInto(t, 2, n);
          expect(t.subarray(0, 2).equals(Buffer.from([0xee, 0xee]))).toBe(true);
          expect(t.subarray(n + 2).equals(Buffer.from([0xee, 0xee]))).toBe(true);
          out.push(t.subarray(2, n + 2));
        }
        expect(out.at(-1)!.length).toBe(n);
      }
    }
    const handedOut = Buffer.concat(out);
    const stream = Buffer.concat(written);
    // Nothing skipped or repeated: the draws, concatenated, are the fill stream itself (less at most the unread tail).
    expect(stream.length - handedOut.length).toBeLessThan(64);
    expect(handedOut.equals(stream.subarray(0, handedOut.length))).toBe(true);
    // And the stream never repeats a 4-byte word, so no two draws share bytes from the same position.
    const words = new Set<number>();
    for (let i = 0; i + 4 <= handedOut.length; i += 4) words.add(handedOut.readUInt32BE(i));
    expect(words.size).toBe(Math.floor(handedOut.length / 4));
    expect(pool.refills).toBeGreaterThan(20);
  });

  it('ok/returned buffers are copies: later draws and refills do not change them, and changing them does not change later draws', () => {
    const { fill } = countingFill();
    const pool = new RandomPool(16, fill);
    const a = pool.bytes(10);
    const aCopy = Buffer.from(a);
    a.fill(0xaa); // the caller scribbles on its own bytes
    const b = pool.bytes(10); // straddles a refill
    const c = pool.bytes(16);
    expect(aCopy.equals(Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]))).toBe(true);
    expect(b.equals(Buffer.from([0, 2, 0, 0, 0, 3, 0, 0, 0, 4]))).toBe(true);
    expect([0, 4, 8, 12].map((i) => c.readUInt32BE(i))).toEqual([5, 6, 7, 8]);
    expect(b.equals(Buffer.from([0, 2, 0, 0, 0, 3, 0, 0, 0, 4]))).toBe(true);
    expect(b.buffer === c.buffer && b.byteOffset === c.byteOffset).toBe(false);
  });

  it('fail/nonsense sizes and ranges are refused without moving the stream', () => {
    const { fill, written } = countingFill();
    const pool = new RandomPool(16, fill);
    expect(() => pool.base64url(-1)).toThrow(RangeError);
    expect(() => pool.base64url(1.5)).toThrow(RangeError);
    expect(() => pool.fillInto(Buffer.alloc(4), 2, 3)).toThrow(RangeError);
    expect(() => pool.fillInto(Buffer.alloc(4), -1, 2)).toThrow(RangeError);
    expect(() => new RandomPool(0)).toThrow(RangeError);
    expect(pool.bytes(4).readUInt32BE(0)).toBe(0);
    expect(written.length).toBe(1);
  });

  it('ok/the shared pool: pooledRandomBytes gives fresh, distinct buffers', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const b = pooledRandomBytes(10);
      expect(b.length).toBe(10);
      seen.add(b.toString('hex'));
    }
    expect(seen.size).toBe(2_000);
  });
});

describe('ids from the pool', () => {
  it('ok/newId is 12 bytes and newToken 32 bytes, base64url without padding, all distinct across refills', () => {
    const ids = new Set<string>();
    const tokens = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const id = newId();
      const token = newToken();
      expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(id, 'base64url').length).toBe(12);
      expect(Buffer.from(token, 'base64url').length).toBe(32);
      ids.add(id);
      tokens.add(token);
    }
    // 2000 × 44 bytes = 88 KB: about twenty 4 KiB refills of the shared pool.
    expect(ids.size).toBe(2_000);
    expect(tokens.size).toBe(2_000);
  });
});
