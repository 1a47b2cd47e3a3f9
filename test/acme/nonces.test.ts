import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NONCE_TAG_KEY_INFO, NonceService, type SpentNonces } from '../../src/acme/nonces.ts';
import { fixedClock } from '../../src/domain/clock.ts';
import { openStore } from '../../src/store/store.ts';
import { AcmeStore } from '../../src/store/acme-store.ts';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.ts';

/** RFC 8555 §6.5 nonces: single use, bounded lifetime, and still good after a restart. */
describe('NonceService', () => {
  const key = new Uint8Array(32).fill(7);
  const path = join(tempDir(), 'n.db');
  const clock = fixedClock(new Date('2026-01-01T00:00:00Z'));

  it('ok/a nonce issued before a restart is accepted once after it, then refused', () => {
    const s1 = openStore(path, { create: true });
    const before = new NonceService({ key, spent: new AcmeStore(s1.db).nonces, clock, lifetimeMs: 3_600_000 });
    const n1 = before.issue();
    const n2 = before.issue();
    expect(before.consume(n1)).toBeNull();
    s1.close();

    const s2 = openStore(path);
    const after = new NonceService({ key, spent: new AcmeStore(s2.db).nonces, clock, lifetimeMs: 3_600_000 });
    expect(after.consume(n2)).toBeNull();
    expect(after.consume(n2)).toMatch(/already used/);
    expect(after.consume(n1)).toMatch(/already used/);
    s2.close();
  });

  it('fail/expired, forged and foreign nonces are refused', () => {
    const s = openStore(path);
    const svc = new NonceService({ key, spent: new AcmeStore(s.db).nonces, clock, lifetimeMs: 60_000 });
    const n = svc.issue();
    clock.advance(61_000);
    expect(svc.consume(n)).toMatch(/expired/);
    const other = new NonceService({ key: new Uint8Array(32).fill(8), spent: new AcmeStore(s.db).nonces, clock, lifetimeMs: 60_000 });
    expect(svc.consume(other.issue())).toMatch(/not one this server issued/);
    const good = svc.issue();
    const flipped = good.slice(0, 5) + (good[5] === 'A' ? 'B' : 'A') + good.slice(6);
    expect(svc.consume(flipped)).toMatch(/not one this server issued/);
    expect(svc.consume('')).toMatch(/not one/);
    s.close();
  });

  it('ok/a nonce is time | random | AES-256(HKDF(key)) of exactly those 16 bytes, 43 characters', () => {
    const c = fixedClock(new Date('2026-01-01T00:00:00Z'));
    const svc = new NonceService({ key, spent: memorySpent(), clock: c, lifetimeMs: 60_000 });
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const n = svc.issue();
      expect(n).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const b = Buffer.from(n, 'base64url');
      expect(b.length).toBe(32);
      expect(b.readUIntBE(0, 6)).toBe(c.now().getTime());
      expect(b.subarray(16).equals(referenceTag(key, b.subarray(0, 16)))).toBe(true);
      seen.add(b.subarray(6, 16).toString('hex'));
      c.advance(1);
    }
    expect(seen.size).toBe(2_000);
  });

  it('ok/a long-lived AES-256-ECB cipher without padding returns exactly 16 bytes per 16-byte update, every call', () => {
    const k = randomBytes(32);
    const cipher = createCipheriv('aes-256-ecb', k, null).setAutoPadding(false);
    for (let i = 0; i < 10_000; i++) {
      const block = randomBytes(16);
      const out = cipher.update(block);
      expect(out.length).toBe(16);
      if (i % 500 === 0) expect(out.equals(oneShotAes(k, block))).toBe(true);
    }
    // And the service's own cipher, through issue/consume, over as many calls.
    const svc = new NonceService({ key, spent: memorySpent(), clock: fixedClock(new Date('2026-01-01T00:00:00Z')), lifetimeMs: 60_000 });
    for (let i = 0; i < 10_000; i++) expect(svc.consume(svc.issue())).toBeNull();
  });

  it('fail/AES nonces with a corrupted tag or body, from the future, or expired are refused', () => {
    const c = fixedClock(new Date('2026-01-01T00:00:00Z'));
    const svc = new NonceService({ key, spent: memorySpent(), clock: c, lifetimeMs: 60_000 });
    const now = c.now().getTime();
    for (let i = 0; i < 32; i++) {
      const b = Buffer.from(svc.issue(), 'base64url');
      b[i]! ^= 0x01;
      expect(svc.consume(b.toString('base64url'))).toMatch(/not one this server issued/);
    }
    expect(svc.consume(aesNonce(key, now + 61_000))).toMatch(/not one this server issued/);
    expect(svc.consume(aesNonce(key, now - 60_001))).toMatch(/expired/);
    expect(svc.consume(aesNonce(key, now + 59_000))).toBeNull(); // within the clock-skew allowance
    expect(svc.consume(aesNonce(key, now - 60_000))).toBeNull(); // exactly at the end of its lifetime
  });

  it('ok/a nonce issued by the previous version (HMAC tag) is accepted once after the upgrade restart, then refused', () => {
    const c = fixedClock(new Date('2026-03-01T00:00:00Z'));
    const issuedBefore = c.now().getTime() - 30_000;
    const legacy = legacyNonce(key, issuedBefore);
    const other = legacyNonce(key, issuedBefore + 1);
    const s1 = openStore(join(tempDir(), 'upgrade.db'), { create: true });
    const svc = new NonceService({ key, spent: new AcmeStore(s1.db).nonces, clock: c, lifetimeMs: 3_600_000 });
    c.advance(5_000);
    expect(svc.consume(legacy)).toBeNull();
    expect(svc.consume(legacy)).toMatch(/already used/);
    expect(svc.consume(other)).toBeNull();
    // New nonces are AES-tagged, not HMAC-tagged.
    const fresh = Buffer.from(svc.issue(), 'base64url');
    expect(fresh.subarray(16).equals(legacyTag(key, fresh.subarray(0, 16)))).toBe(false);
    s1.close();
  });

  it('fail/legacy (HMAC) nonces: corrupted tag, expired, dated at or after start, from the future, or another key are refused', () => {
    const c = fixedClock(new Date('2026-03-01T00:00:00Z'));
    const start = c.now().getTime();
    const svc = new NonceService({ key, spent: memorySpent(), clock: c, lifetimeMs: 60_000 });
    c.advance(1_000);
    const good = Buffer.from(legacyNonce(key, start - 1_000), 'base64url');
    for (const i of [0, 6, 15, 16, 31]) {
      const b = Buffer.from(good);
      b[i]! ^= 0x80;
      expect(svc.consume(b.toString('base64url'))).toMatch(/not one this server issued/);
    }
    expect(svc.consume(legacyNonce(key, start - 61_001))).toMatch(/expired/);
    // The previous version never issues after this one started: a valid HMAC tag dated later is refused.
    expect(svc.consume(legacyNonce(key, start))).toMatch(/not one this server issued/);
    expect(svc.consume(legacyNonce(key, start + 500))).toMatch(/not one this server issued/);
    expect(svc.consume(legacyNonce(key, start + 30_000))).toMatch(/not one this server issued/);
    expect(svc.consume(legacyNonce(new Uint8Array(32).fill(8), start - 1_000))).toMatch(/not one this server issued/);
    expect(svc.consume(good.toString('base64url'))).toBeNull();
  });
});

/** An in-memory SpentNonces. */
function memorySpent(): SpentNonces {
  const spent = new Map<string, number>();
  return {
    spend: (n, exp) => (spent.has(n) ? false : (spent.set(n, exp), true)),
    purgeExpired: (now) => {
      let k = 0;
      for (const [n, exp] of spent) if (exp < now && spent.delete(n)) k++;
      return k;
    },
  };
}

function oneShotAes(k: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-ecb', k, null).setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** The tag as specified, computed independently of the service: AES-256-ECB under HKDF-SHA256(key, label). */
function referenceTag(nonceKey: Uint8Array, body: Uint8Array): Buffer {
  return oneShotAes(Buffer.from(hkdfSync('sha256', nonceKey, Buffer.alloc(0), NONCE_TAG_KEY_INFO, 32)), body);
}

function aesNonce(nonceKey: Uint8Array, issuedAt: number): string {
  const body = Buffer.alloc(16);
  body.writeUIntBE(issuedAt, 0, 6);
  randomBytes(10).copy(body, 6);
  return Buffer.concat([body, referenceTag(nonceKey, body)]).toString('base64url');
}

/** The previous version's tag: HMAC-SHA256(nonce key, time | random), first 16 bytes. */
function legacyTag(nonceKey: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', nonceKey).update(body).digest().subarray(0, 16);
}

function legacyNonce(nonceKey: Uint8Array, issuedAt: number): string {
  const body = Buffer.alloc(16);
  body.writeUIntBE(issuedAt, 0, 6);
  randomBytes(10).copy(body, 6);
  return Buffer.concat([body, legacyTag(nonceKey, body)]).toString('base64url');
}
