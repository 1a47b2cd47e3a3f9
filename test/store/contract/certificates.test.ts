import { expect, it } from 'vitest';
import { CaError } from '../../../src/domain/errors.ts';
import type { Store } from '../../../src/store/store.ts';
import { ALL_BYTES, at, contract } from './backends.ts';

const NOW = at('2026-03-01T00:00:00Z');
const DAY = 86_400_000;

function reserve(s: Store, serial: string, o: { profile?: string; issuer?: string; notAfter?: Date; now?: Date; key?: string } = {}): void {
  s.certificates.reserve({
    serial,
    issuer: o.issuer ?? 'ik1',
    subject: `CN=${serial}`,
    sans: [`dns:${serial}.example`],
    profile: o.profile ?? 'server',
    notBefore: NOW,
    notAfter: o.notAfter ?? new Date(NOW.getTime() + 30 * DAY),
    publicKeySha256: o.key ?? `k-${serial}`,
    now: o.now ?? NOW,
  });
}

/** Reserved and stored as `valid` with a DER of its own bytes. */
function issue(s: Store, serial: string, o: Parameters<typeof reserve>[2] & { renewal?: { replaces: string; lineageStart: Date } } = {}): Buffer {
  reserve(s, serial, o);
  const der = Buffer.concat([Buffer.from(serial), ALL_BYTES]);
  s.certificates.markValid(serial, der, o.renewal);
  return der;
}

contract('certificates', (f) => {
  it('ok/reserve → pending (NULLs as null) → valid with the DER byte for byte', async () => {
    const s = await f.fresh();
    reserve(s, '0a');
    expect(s.certificates.get('0a')).toMatchObject({ serial: '0a', status: 'pending', der: null, revokedAt: null, reason: null, sans: ['dns:0a.example'], notBefore: NOW });
    s.certificates.markValid('0a', ALL_BYTES);
    const got = s.certificates.get('0a')!;
    expect(got.status).toBe('valid');
    expect(Buffer.from(got.der!).equals(ALL_BYTES)).toBe(true);
    expect(got.createdAt).toEqual(NOW);
    expect(s.certificates.get('ff')).toBeNull();
  });

  it('bad/a duplicate serial is CaError conflict and the first row stays', async () => {
    const s = await f.fresh();
    issue(s, '0b');
    const e = (() => {
      try {
        reserve(s, '0b', { profile: 'other' });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(CaError);
    expect((e as CaError).kind).toBe('conflict');
    expect(s.certificates.get('0b')).toMatchObject({ status: 'valid', profile: 'server' });
  });

  it('bad/a duplicate serial inside a transaction: the conflict is caught and the transaction goes on', async () => {
    const s = await f.fresh();
    issue(s, '0c');
    s.transaction(() => {
      expect(() => reserve(s, '0c')).toThrow(CaError);
      reserve(s, '0d');
    });
    expect(s.certificates.get('0d')?.status).toBe('pending');
  });

  it('bad/markValid on a row that is not pending is internal; markFailed only moves pending rows', async () => {
    const s = await f.fresh();
    issue(s, '01');
    expect(() => s.certificates.markValid('01', Buffer.from([1]))).toThrow(expect.objectContaining({ kind: 'internal' }));
    expect(() => s.certificates.markValid('99', Buffer.from([1]))).toThrow(expect.objectContaining({ kind: 'internal' }));
    s.certificates.markFailed('01');
    expect(s.certificates.get('01')?.status).toBe('valid');
    reserve(s, '02');
    s.certificates.markFailed('02');
    expect(s.certificates.get('02')?.status).toBe('failed');
  });

  it('ok/stale pending rows, oldest first, only those reserved before the cut', async () => {
    const s = await f.fresh();
    reserve(s, '03', { now: new Date(NOW.getTime() - 2 * DAY) });
    reserve(s, '04', { now: new Date(NOW.getTime() - 3 * DAY) });
    reserve(s, '05', { now: NOW });
    issue(s, '06', { now: new Date(NOW.getTime() - 9 * DAY) });
    expect(s.certificates.listStalePending(new Date(NOW.getTime() - DAY))).toEqual(['04', '03']);
  });

  it('ok/revoke once: time and reason stored as numbers; again, or on pending/unknown, false', async () => {
    const s = await f.fresh();
    issue(s, '07');
    reserve(s, '08');
    const when = at('2026-03-02T10:00:00Z');
    expect(s.certificates.revoke('07', when, 4)).toBe(true);
    expect(s.certificates.revoke('07', when, 1)).toBe(false);
    expect(s.certificates.revoke('08', when, 1)).toBe(false);
    expect(s.certificates.revoke('nope', when, 1)).toBe(false);
    const r = s.certificates.get('07')!;
    expect(r).toMatchObject({ status: 'revoked', revokedAt: when, reason: 4 });
    expect(typeof r.reason).toBe('number');
  });

  it('ok/status counts are numbers', async () => {
    const s = await f.fresh();
    issue(s, '10');
    issue(s, '11');
    issue(s, '12');
    reserve(s, '13');
    s.certificates.revoke('12', NOW, 0);
    expect(s.certificates.countByStatus()).toStrictEqual({ valid: 2, revoked: 1, pending: 1 });
  });

  it('ok/lineage: recorded by the valid statement of the renewal, read back, replacements in issue order', async () => {
    const s = await f.fresh();
    const start = at('2026-01-01T00:00:00Z');
    issue(s, '20', { key: 'aa' });
    // Reserved in one order, made valid in the other: replacementsOf follows created_at.
    reserve(s, '21', { now: new Date(NOW.getTime() + 1000) });
    issue(s, '22', { now: new Date(NOW.getTime() + 2000), renewal: { replaces: '20', lineageStart: start } });
    s.certificates.markValid('21', ALL_BYTES, { replaces: '20', lineageStart: start });
    expect(s.lineage.get('20')).toStrictEqual({ replaces: null, start: NOW, publicKeySha256: 'aa' });
    expect(s.lineage.get('21')).toMatchObject({ replaces: '20', start });
    // The row and its lineage in one read, as a renewal reads them.
    const current = s.lineage.current('22')!;
    expect(current.lineage).toStrictEqual({ replaces: '20', start, publicKeySha256: 'k-22' });
    expect(current.record).toStrictEqual(s.certificates.get('22'));
    expect(s.lineage.current('20')!.lineage).toStrictEqual(s.lineage.get('20'));
    expect(s.lineage.current('nope')).toBeNull();
    expect(s.lineage.replacementsOf('20')).toEqual(['21', '22']);
    expect(s.lineage.replacementsOf('21')).toEqual([]);
    expect(s.lineage.get('nope')).toBeNull();
  });

  it('ok/OCSP responders listed per issuer in creation order', async () => {
    const s = await f.fresh();
    issue(s, '30');
    issue(s, '31');
    issue(s, '32', { issuer: 'ik2' });
    const r = (serial: string, issuer: string, created: number) => ({ serial, issuer, notBefore: NOW, notAfter: new Date(NOW.getTime() + 4 * DAY), createdAt: new Date(NOW.getTime() + created * 1000) });
    s.ocspResponders.add(r('31', 'ik1', 5));
    s.ocspResponders.add(r('30', 'ik1', 9));
    s.ocspResponders.add(r('32', 'ik2', 1));
    expect(s.ocspResponders.list('ik1')).toStrictEqual([r('31', 'ik1', 5), r('30', 'ik1', 9)]);
    expect(s.ocspResponders.list('ik3')).toEqual([]);
    expect(() => s.ocspResponders.add(r('99', 'ik1', 1))).toThrow(); // not a certificate of ours (foreign key)
  });
});

contract('certificate inventory', (f) => {
  async function fleet(): Promise<Store> {
    const s = await f.fresh();
    const later = (days: number) => new Date(NOW.getTime() + days * DAY);
    issue(s, 'a1', { profile: 'server', notAfter: later(30) });
    issue(s, 'a2', { profile: 'server', notAfter: later(2) });
    issue(s, 'a3', { profile: 'client', notAfter: later(-1) });
    issue(s, 'a4', { profile: 'client', notAfter: later(30) });
    issue(s, 'a5', { profile: 'server', notAfter: later(30) });
    s.certificates.revoke('a5', NOW, 1);
    reserve(s, 'a6', { profile: 'server' });
    reserve(s, 'a7', { profile: 'client' });
    s.certificates.markFailed('a7');
    return s;
  }

  it('ok/pages in serial order by keyset, without the DER unless asked', async () => {
    const s = await fleet();
    const first = s.inventory.page({ now: NOW, limit: 3 });
    expect(first.map((c) => c.serial)).toEqual(['a1', 'a2', 'a3']);
    expect(first[0]).not.toHaveProperty('der');
    const next = s.inventory.page({ now: NOW, limit: 3, after: 'a3' });
    expect(next.map((c) => c.serial)).toEqual(['a4', 'a5', 'a6']);
    expect(s.inventory.page({ now: NOW, limit: 3, after: 'a7' })).toEqual([]);
    const withDer = s.inventory.page({ now: NOW, limit: 1, withDer: true });
    expect(Buffer.from(withDer[0]!.der!).equals(Buffer.concat([Buffer.from('a1'), ALL_BYTES]))).toBe(true);
    expect(withDer[0]).toMatchObject({ serial: 'a1', sans: ['dns:a1.example'], revokedAt: null, reason: null });
  });

  it('ok/filters: valid, expired, revoked, pending, failed, expiring', async () => {
    const s = await fleet();
    const serials = (q: Partial<Parameters<Store['inventory']['page']>[0]>) => s.inventory.page({ now: NOW, limit: 100, ...q }).map((c) => c.serial);
    expect(serials({ status: 'valid' })).toEqual(['a1', 'a2', 'a4']);
    expect(serials({ status: 'expired' })).toEqual(['a3']);
    expect(serials({ status: 'revoked' })).toEqual(['a5']);
    expect(serials({ status: 'pending' })).toEqual(['a6']);
    expect(serials({ status: 'failed' })).toEqual(['a7']);
    expect(serials({ expiringBefore: new Date(NOW.getTime() + 7 * DAY) })).toEqual(['a2']);
    expect(serials({ status: 'valid', after: 'a1', limit: 1 })).toEqual(['a2']);
  });

  it('ok/stats: totals and per profile, as numbers', async () => {
    const s = await fleet();
    expect(s.inventory.stats(NOW, new Date(NOW.getTime() + 7 * DAY))).toStrictEqual({
      live: 3,
      expiring: 1,
      expired: 1,
      revoked: 1,
      pending: 1,
      failed: 1,
      byProfile: [
        { profile: 'client', live: 1, expiring: 0, revoked: 0 },
        { profile: 'server', live: 2, expiring: 1, revoked: 1 },
      ],
    });
    const empty = await f.fresh();
    expect(empty.inventory.stats(NOW, NOW)).toStrictEqual({ live: 0, expiring: 0, expired: 0, revoked: 0, pending: 0, failed: 0, byProfile: [] });
  });
});
