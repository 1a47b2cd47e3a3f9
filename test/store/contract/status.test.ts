import { expect, it } from 'vitest';
import { HeartbeatRepository } from '../../../src/store/heartbeat.ts';
import type { Store } from '../../../src/store/store.ts';
import { ALL_BYTES, at, contract } from './backends.ts';

const NOW = at('2026-03-01T00:00:00Z');
const H = 3_600_000;
const later = (hours: number) => new Date(NOW.getTime() + hours * H);

function cert(s: Store, serial: string, o: { issuer?: string; notAfter?: Date; revoked?: boolean } = {}): void {
  s.certificates.reserve({ serial, issuer: o.issuer ?? 'ik1', subject: `CN=${serial}`, sans: [], profile: 'p', notBefore: NOW, notAfter: o.notAfter ?? later(24 * 30), publicKeySha256: serial, now: NOW });
  s.certificates.markValid(serial, Buffer.from([0x30, 0x03, ...Buffer.from(serial)]));
  if (o.revoked) s.certificates.revoke(serial, later(1), 1);
}

const response = (serial: string, certStatus: 'good' | 'revoked', nextUpdate = later(96), der: Buffer = Buffer.concat([Buffer.from(serial), ALL_BYTES])) => ({
  serial,
  certStatus,
  thisUpdate: NOW,
  nextUpdate,
  responder: 'r1',
  der: new Uint8Array(der),
});

contract('pre-signed OCSP responses', (f) => {
  it('ok/put stores and replaces, each write a higher seq; get returns the DER byte for byte', async () => {
    const s = await f.fresh();
    cert(s, 'a1');
    cert(s, 'a2');
    expect(s.ocspResponses.lastSeq()).toBe(0);
    expect(s.ocspResponses.put(response('a1', 'good'))).toBe(1);
    expect(s.ocspResponses.put(response('a2', 'good'))).toBe(2);
    expect(s.ocspResponses.put(response('a1', 'good', later(48), Buffer.from([0, 1, 0xff])))).toBe(3);
    const got = s.ocspResponses.get('a1')!;
    expect(got).toMatchObject({ serial: 'a1', certStatus: 'good', thisUpdate: NOW, nextUpdate: later(48), responder: 'r1', seq: 3 });
    expect(Buffer.from(got.der).equals(Buffer.from([0, 1, 0xff]))).toBe(true);
    expect(Buffer.from(s.ocspResponses.get('a2')!.der).equals(Buffer.concat([Buffer.from('a2'), ALL_BYTES]))).toBe(true);
    expect(s.ocspResponses.get('zz')).toBeNull();
    expect(s.ocspResponses.lastSeq()).toBe(3);
    expect(() => s.ocspResponses.put(response('nocert', 'good'))).toThrow(); // foreign key: only our certificates
  });

  it('ok/writtenSince: serials written after a seq, in write order, at most limit', async () => {
    const s = await f.fresh();
    for (const x of ['b1', 'b2', 'b3']) cert(s, x);
    s.ocspResponses.put(response('b1', 'good'));
    s.ocspResponses.put(response('b2', 'good'));
    s.ocspResponses.put(response('b3', 'good'));
    s.ocspResponses.put(response('b1', 'good'));
    expect(s.ocspResponses.writtenSince(1, 10)).toStrictEqual([
      { serial: 'b2', seq: 2 },
      { serial: 'b3', seq: 3 },
      { serial: 'b1', seq: 4 },
    ]);
    expect(s.ocspResponses.writtenSince(0, 1)).toStrictEqual([{ serial: 'b2', seq: 2 }]);
    expect(s.ocspResponses.writtenSince(4, 10)).toEqual([]);
  });

  it('ok/current: only unexpired and saying what the certificate row says', async () => {
    const s = await f.fresh();
    for (const x of ['c1', 'c2', 'c3']) cert(s, x);
    s.ocspResponses.put(response('c1', 'good'));
    s.ocspResponses.put(response('c2', 'good', later(1)));
    s.ocspResponses.put(response('c3', 'good'));
    expect(Buffer.from(s.ocspResponses.current('c1', NOW)!.der)).toEqual(Buffer.concat([Buffer.from('c1'), ALL_BYTES]));
    expect(s.ocspResponses.current('c2', later(1))).toBeNull(); // nextUpdate reached
    s.certificates.revoke('c3', NOW, 1);
    expect(s.ocspResponses.current('c3', NOW)).toBeNull(); // revoked since: not served as good
    s.ocspResponses.put(response('c3', 'revoked', later(96), Buffer.from('revoked c3')));
    expect(Buffer.from(s.ocspResponses.current('c3', NOW)!.der)).toEqual(Buffer.from('revoked c3'));
    expect(s.ocspResponses.current('zz', NOW)).toBeNull();
  });

  it('ok/dueForRefresh: by nextUpdate, live certificates only, at most limit', async () => {
    const s = await f.fresh();
    cert(s, 'd1');
    cert(s, 'd2');
    cert(s, 'd3', { notAfter: later(-1) });
    s.ocspResponses.put(response('d1', 'good', later(10)));
    s.ocspResponses.put(response('d2', 'good', later(5)));
    s.ocspResponses.put(response('d3', 'good', later(1)));
    expect(s.ocspResponses.dueForRefresh(later(20), NOW, 10)).toEqual(['d2', 'd1']);
    expect(s.ocspResponses.dueForRefresh(later(20), NOW, 1)).toEqual(['d2']);
    expect(s.ocspResponses.dueForRefresh(later(6), later(-48), 10)).toEqual(['d3', 'd2']);
  });

  it('ok/stale, staleWindow and staleAmong agree: missing or wrong-status responses of live certificates of the issuer', async () => {
    const s = await f.fresh();
    cert(s, 'e1'); // no response
    cert(s, 'e2'); // good: fine
    cert(s, 'e3', { revoked: true }); // stored good: stale
    cert(s, 'e4', { revoked: true }); // stored revoked: fine
    cert(s, 'e5', { notAfter: later(-1) }); // expired: not listed
    cert(s, 'e6', { issuer: 'ik2' }); // other issuer
    s.certificates.reserve({ serial: 'e7', issuer: 'ik1', subject: 'CN=e7', sans: [], profile: 'p', notBefore: NOW, notAfter: later(9), publicKeySha256: 'x', now: NOW }); // pending
    s.ocspResponses.put(response('e2', 'good'));
    s.ocspResponses.put(response('e3', 'good'));
    s.ocspResponses.put(response('e4', 'revoked'));
    const e1 = { serial: 'e1', status: 'valid', revokedAt: null, reason: null, notAfter: later(24 * 30), storedStatus: null };
    const e3 = { serial: 'e3', status: 'revoked', revokedAt: later(1), reason: 1, notAfter: later(24 * 30), storedStatus: 'good' };
    const bySerial = (xs: { serial: string }[]) => [...xs].sort((a, b) => a.serial.localeCompare(b.serial));
    expect(bySerial(s.ocspResponses.stale('ik1', NOW, 100))).toStrictEqual([e1, e3]);
    expect(s.ocspResponses.stale('ik1', NOW, 1)).toHaveLength(1);
    // Within a window the order is the database's (no ORDER BY): the set and the next start are the contract.
    const w1 = s.ocspResponses.staleWindow('ik1', NOW, '', 3);
    expect({ ...w1, stale: bySerial(w1.stale) }).toStrictEqual({ stale: [e1, e3], last: 'e3' });
    const w2 = s.ocspResponses.staleWindow('ik1', NOW, 'e3', 3);
    expect(w2).toStrictEqual({ stale: [], last: 'e6' });
    expect(s.ocspResponses.staleWindow('ik1', NOW, 'e6', 3)).toStrictEqual({ stale: [], last: null });
    expect(bySerial(s.ocspResponses.staleAmong('ik1', ['e3', 'e1', 'e2', 'e3', 'nope', 'e5', 'e6'], NOW))).toStrictEqual([e1, e3]);
    expect(s.ocspResponses.staleAmong('ik1', [], NOW)).toEqual([]);
    expect(s.ocspResponses.staleAmong('ik1', ["e1' OR 1=1 --"], NOW)).toEqual([]);
  });
});

contract('CRLs', (f) => {
  const crl = (shard: number, number: bigint, der = Buffer.from([0x30, Number(number) & 0xff, ...ALL_BYTES])) => ({
    issuer: 'ik1',
    shard,
    number,
    thisUpdate: NOW,
    nextUpdate: later(24),
    entries: 2,
    der: new Uint8Array(der),
  });

  it('ok/numbers grow per issuer across shards; latest per shard; the few newest kept', async () => {
    const s = await f.fresh();
    expect(s.crls.nextNumber('ik1')).toBe(1n);
    expect(s.crls.latest('ik1', 0)).toBeNull();
    s.crls.add(crl(0, 1n));
    s.crls.add(crl(1, 2n));
    expect(s.crls.nextNumber('ik1')).toBe(3n);
    expect(s.crls.nextNumber('ik2')).toBe(1n);
    for (let n = 3n; n <= 6n; n++) s.crls.add(crl(0, n), 3);
    const latest = s.crls.latest('ik1', 0)!;
    expect(latest).toMatchObject({ issuer: 'ik1', shard: 0, number: 6n, thisUpdate: NOW, nextUpdate: later(24), entries: 2 });
    expect(Buffer.from(latest.der).equals(Buffer.from([0x30, 6, ...ALL_BYTES]))).toBe(true);
    expect(s.crls.latest('ik1', 1)?.number).toBe(2n);
    expect((s.db.prepare('SELECT count(*) AS n FROM crls WHERE shard = 0').get() as { n: number }).n).toBe(3);
    expect(s.crls.nextNumber('ik1')).toBe(7n);
  });

  it('bad/a CRL number is unique per issuer, whatever the shard', async () => {
    const s = await f.fresh();
    s.crls.add(crl(0, 1n));
    expect(() => s.crls.add(crl(1, 1n))).toThrow();
    expect(s.crls.latest('ik1', 1)).toBeNull();
  });

  it('ok/CRL numbers past 2^31 round-trip', async () => {
    const s = await f.fresh();
    s.crls.add(crl(0, 2n ** 40n + 1n));
    expect(s.crls.latest('ik1', 0)?.number).toBe(2n ** 40n + 1n);
    expect(s.crls.nextNumber('ik1')).toBe(2n ** 40n + 2n);
  });

  it('ok/the revoked list: revoked, of the issuer, not expired before the cut, in serial order', async () => {
    const s = await f.fresh();
    cert(s, 'f3', { revoked: true });
    cert(s, 'f1', { revoked: true });
    cert(s, 'f2');
    cert(s, 'f4', { revoked: true, notAfter: later(-2) });
    cert(s, 'f5', { revoked: true, issuer: 'ik2' });
    s.db.prepare('UPDATE certificates SET reason = NULL WHERE serial = ?').run('f1');
    const at1 = Math.floor(later(1).getTime() / 1000);
    expect([...s.crls.revoked('ik1', NOW)]).toStrictEqual([
      { serial: 'f1', revokedAt: at1, reason: null },
      { serial: 'f3', revokedAt: at1, reason: 1 },
    ]);
    expect([...s.crls.revoked('ik1', later(-48))].map((e) => e.serial)).toEqual(['f1', 'f3', 'f4']);
  });
});

contract('heartbeat', (f) => {
  it('ok/beat writes the one row and rewrites it', async () => {
    const s = await f.fresh();
    const h = new HeartbeatRepository(s.db);
    h.beat(NOW);
    h.beat(later(1), 50);
    expect(s.db.prepare('SELECT id, at FROM heartbeat').all()).toStrictEqual([{ id: 1, at: later(1).getTime() }]);
  });
});
