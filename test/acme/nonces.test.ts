import { describe, expect, it } from 'vitest';
import { NonceService } from '../../src/acme/nonces.ts';
import { fixedClock } from '../../src/domain/clock.ts';
import { openStore } from '../../src/store/store.ts';
import { AcmeStore } from '../../src/store/acme/acme-store.ts';
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
});
