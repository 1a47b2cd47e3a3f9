import { expect, it } from 'vitest';
import { contract } from './backends.ts';

// Leases and shared rate-limit buckets (#22): one code path on both backends.
contract('leases', (f) => {
  it('ok/one holder at a time; renewed by its holder; lapses unrenewed; free once released; listed by prefix', async () => {
    const s = await f.fresh();
    const t = 1_000_000;
    expect(s.leases.acquire('crl:k:0', 'A', t, 30_000)).toBe(true);
    expect(s.leases.acquire('crl:k:0', 'B', t + 1, 30_000)).toBe(false);
    expect(s.leases.acquire('crl:k:0', 'A', t + 20_000, 30_000)).toBe(true);
    expect(s.leases.acquire('crl:k:0', 'B', t + 49_999, 30_000)).toBe(false);
    expect(s.leases.acquire('crl:k:0', 'B', t + 50_000, 30_000)).toBe(true);
    expect(s.leases.holderOf('crl:k:0', t + 50_001)).toBe('B');
    s.leases.release('crl:k:0', 'A'); // not A's any more: nothing happens
    expect(s.leases.holderOf('crl:k:0', t + 50_001)).toBe('B');
    s.leases.release('crl:k:0', 'B');
    expect(s.leases.holderOf('crl:k:0', t + 50_001)).toBeNull();
    expect(s.leases.acquire('crl:k:1', 'A', t, 30_000)).toBe(true);
    expect(s.leases.acquire('ocsp:k:1', 'A', t, 30_000)).toBe(true);
    expect(s.leases.held('crl:', t + 1)).toEqual([{ name: 'crl:k:1', holder: 'A' }]);
    expect(s.leases.held('crl:', t + 30_000)).toEqual([]);
  });
});

contract('rate-limit buckets', (f) => {
  it('ok/starts full, takes one per request, refills at its rate, says how many seconds to wait; keys apart; purge', async () => {
    const s = await f.fresh();
    const now = 5_000_000;
    const take = (at: number, key = '192.0.2.1') => s.rateBuckets.take('newNonce per IP', key, at, 3, 0.5 / 1000);
    expect([take(now), take(now), take(now)]).toEqual([0, 0, 0]);
    expect(take(now)).toBe(2); // half a token a second: a whole one in 2 s
    expect(take(now + 1000)).toBe(1);
    expect(take(now + 2000)).toBe(0);
    expect(take(now + 2000, '192.0.2.9')).toBe(0);
    expect(s.rateBuckets.purge(now + 2001)).toBe(2);
    expect(take(now + 2002)).toBe(0); // forgotten: full again
  });
});
