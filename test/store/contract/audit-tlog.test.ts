import { expect, it } from 'vitest';
import { auditHash, GENESIS } from '../../../src/store/audit.ts';
import { startInventoryCheck } from '../../../src/store/inventory-check.ts';
import { inventoryFindings, recomputeLog } from '../../../src/store/tlog-audit.ts';
import { auditEntry } from '../../../src/tlog/entry.ts';
import { buildLevels, inclusionProof, leafHash, levelsReader, rootAt, verifyInclusion } from '../../../src/tlog/merkle.ts';
import type { Store } from '../../../src/store/store.ts';
import { at, contract } from './backends.ts';

const T0 = at('2026-03-01T00:00:00Z').getTime();

function events(s: Store, n: number, o: { target?: (i: number) => string | null; action?: (i: number) => string } = {}): void {
  for (let i = 0; i < n; i++) {
    s.audit.append({ at: new Date(T0 + i * 1000), action: o.action?.(i) ?? 'certificate.issued', actor: 'cli', target: o.target ? o.target(i) : `s${i}`, details: { i, note: 'é ✓ "q"' } });
  }
}

contract('audit trail', (f) => {
  it('ok/append chains each event to the previous one (ids from 1, genesis first) and the chain verifies', async () => {
    const s = await f.fresh();
    const a = s.audit.append({ at: new Date(T0), action: 'ca.initialized', actor: 'cli', details: { nested: { n: 1 } } });
    const b = s.audit.append({ at: new Date(T0 + 5), action: 'certificate.issued', actor: 'acme:x', target: '0a' });
    expect(a).toMatchObject({ id: 1, prevHash: GENESIS, target: null, details: { nested: { n: 1 } } });
    expect(b).toMatchObject({ id: 2, prevHash: a.hash, target: '0a', details: {} });
    expect(b.hash).toBe(auditHash(a.hash, { id: 2, at: T0 + 5, action: 'certificate.issued', actor: 'acme:x', target: '0a', details: '{}' }));
    expect(s.audit.lastId()).toBe(2);
    expect(s.audit.verifyChain()).toEqual({ ok: true, count: 2 });
    expect(s.audit.list()).toStrictEqual([a, b]);
  });

  it('ok/list by target, since and limit, in id order; lastId of an empty trail is 0', async () => {
    const s = await f.fresh();
    expect(s.audit.lastId()).toBe(0);
    expect(s.audit.list()).toEqual([]);
    events(s, 6, { target: (i) => (i % 2 ? 'odd' : null) });
    expect(s.audit.list({ target: 'odd' }).map((e) => e.id)).toEqual([2, 4, 6]);
    expect(s.audit.list({ since: new Date(T0 + 3000) }).map((e) => e.id)).toEqual([4, 5, 6]);
    expect(s.audit.list({ target: 'odd', since: new Date(T0 + 2000), limit: 1 }).map((e) => e.id)).toEqual([4]);
    expect(s.audit.list({ limit: 2 }).map((e) => e.at.getTime())).toEqual([T0, T0 + 1000]);
    expect(s.audit.list({ target: 'none' })).toEqual([]);
  });

  it('ok/targetsBetween: the range of ids, the given actions, targets only, in id order', async () => {
    const s = await f.fresh();
    events(s, 8, { target: (i) => (i === 3 ? null : `t${i}`), action: (i) => (i % 3 === 0 ? 'certificate.revoked' : 'certificate.issued') });
    expect(s.audit.targetsBetween(0, 8, ['certificate.issued'])).toEqual(['t1', 't2', 't4', 't5', 't7']);
    expect(s.audit.targetsBetween(2, 7, ['certificate.issued', 'certificate.revoked'])).toEqual(['t2', 't4', 't5', 't6']);
    expect(s.audit.targetsBetween(0, 8, [])).toEqual([]);
    expect(s.audit.targetsBetween(0, 8, ["x' OR '1'='1"])).toEqual([]);
  });

  it('bad/the trail is append-only: UPDATE and DELETE are refused by the database', async () => {
    const s = await f.fresh();
    events(s, 2);
    expect(() => s.db.prepare('UPDATE audit_events SET actor = ? WHERE id = 1').run('mallory')).toThrow(/append-only/);
    expect(() => s.db.prepare('DELETE FROM audit_events WHERE id = 2').run()).toThrow(/append-only/);
    expect(() => s.db.prepare('UPDATE tlog_nodes SET hash = ? WHERE level = 0').run(Buffer.alloc(32))).toThrow(/append-only/);
    expect(s.audit.verifyChain()).toEqual({ ok: true, count: 2 });
  });

  it('ok/an append inside a transaction that rolls back leaves neither the event nor its leaf', async () => {
    const s = await f.fresh();
    events(s, 1);
    expect(() =>
      s.transaction(() => {
        events(s, 1);
        throw new Error('undo');
      }),
    ).toThrow('undo');
    expect(s.audit.lastId()).toBe(1);
    expect(s.audit.log.size()).toBe(1);
    events(s, 1);
    expect(s.audit.verifyChain()).toEqual({ ok: true, count: 2 });
  });
});

contract('transparency log', (f) => {
  it('ok/each append writes its leaf and the subtrees it completes; the stored tree is the recomputed one', async () => {
    const s = await f.fresh();
    events(s, 7);
    const log = s.audit.log;
    expect(log.size()).toBe(7);
    const entries = log.entries(0, 7);
    expect(entries.map((e) => e.toString())).toEqual(s.audit.list().map((e) => auditEntry({ ...e, at: e.at.getTime(), details: JSON.stringify(e.details) }).toString()));
    expect(Buffer.from(log.node(0, 3)).equals(leafHash(entries[3]!))).toBe(true);
    const levels = buildLevels(Buffer.concat(entries.map((e) => leafHash(e))));
    expect(Buffer.from(rootAt(log.reader, 7)).equals(rootAt(levelsReader(levels), 7))).toBe(true);
    // Level 1 holds the 3 complete pairs, level 2 the one complete quad: 96 and 32 bytes.
    expect(log.hashes(1, 0, 8).length).toBe(96);
    expect(log.hashes(2, 0, 8).equals(Buffer.from(log.node(2, 0)))).toBe(true);
    const proof = inclusionProof(log.reader, 5, 7);
    expect(verifyInclusion(leafHash(entries[5]!), 5, 7, proof, rootAt(log.reader, 7))).toBe(true);
    expect(() => log.node(3, 0)).toThrow(expect.objectContaining({ kind: 'conflict' }));
    expect(recomputeLog(s.db)).toMatchObject({ size: 7, findings: [] });
  });

  it('ok/events from before the log (rows without leaves) get theirs, in order, with the next append', async () => {
    const s = await f.fresh();
    // Two rows written as a database from before #17 holds them: no tlog_nodes.
    const insert = s.db.prepare('INSERT INTO audit_events (id, at, action, actor, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const rows = [
      { id: 1, at: T0, action: 'ca.initialized', actor: 'cli', target: null, details: '{}' },
      { id: 2, at: T0 + 1, action: 'certificate.issued', actor: 'cli', target: '0a', details: '{"i":1}' },
    ];
    let prev = GENESIS;
    for (const r of rows) insert.run(r.id, r.at, r.action, r.actor, r.target, r.details, prev, (prev = auditHash(prev, r)));
    expect(s.audit.log.size()).toBe(0);
    events(s, 1);
    expect(s.audit.log.size()).toBe(3);
    const entries = s.audit.log.entries(0, 3);
    for (let i = 0; i < 3; i++) expect(Buffer.from(s.audit.log.node(0, i)).equals(leafHash(entries[i]!))).toBe(true);
    expect(recomputeLog(s.db)).toMatchObject({ size: 3, findings: [] });
  });

  it('bad/a leaf is written once: appending an event the log already holds is a conflict', async () => {
    const s = await f.fresh();
    events(s, 2);
    expect(() => s.audit.log.appendEvent({ id: 2, at: T0, action: 'x', actor: 'cli', target: null, details: '{}' })).toThrow(expect.objectContaining({ kind: 'conflict' }));
    expect(s.audit.log.size()).toBe(2);
  });

  it('ok/the issuance index of a serial is its first issuance event', async () => {
    const s = await f.fresh();
    events(s, 4, { target: (i) => (i < 2 ? 'x' : 'y'), action: (i) => (i === 0 ? 'certificate.revoked' : 'certificate.issued') });
    expect(s.audit.log.issuanceIndex('x')).toBe(1);
    expect(s.audit.log.issuanceIndex('y')).toBe(2);
    expect(s.audit.log.issuanceIndex('z')).toBeNull();
  });

  it('ok/checkpoints: insert-once per size, the latest by size, lookup by size', async () => {
    const s = await f.fresh();
    const log = s.audit.log;
    expect(log.latestCheckpoint()).toBeNull();
    log.saveCheckpoint({ size: 3, note: 'n3', signedAt: new Date(T0) });
    log.saveCheckpoint({ size: 5, note: 'n5', signedAt: new Date(T0 + 1) });
    log.saveCheckpoint({ size: 3, note: 'other', signedAt: new Date(T0 + 2) });
    expect(log.latestCheckpoint()).toStrictEqual({ size: 5, note: 'n5', signedAt: new Date(T0 + 1) });
    expect(log.checkpointAt(3)).toStrictEqual({ size: 3, note: 'n3', signedAt: new Date(T0) });
    expect(log.checkpointAt(4)).toBeNull();
  });

  it('ok/the inventory check agrees with the log on both backends', async () => {
    const s = await f.fresh();
    expect(inventoryFindings(s.db)).toEqual([]);
    s.certificates.reserve({ serial: 'c1', issuer: 'ik', subject: 'CN=c1', sans: [], profile: 'p', notBefore: new Date(T0), notAfter: new Date(T0 + 1e9), publicKeySha256: 'k', now: new Date(T0) });
    s.certificates.markValid('c1', Buffer.from([0x30, 0]));
    expect(inventoryFindings(s.db)).toEqual(['certificate c1: valid in the inventory but the log has no issuance entry for it']);
    s.audit.append({ at: new Date(T0), action: 'certificate.issued', actor: 'cli', target: 'c1', details: { sha256: '00'.repeat(32) } });
    expect(inventoryFindings(s.db)).toEqual(['certificate c1: the stored DER is not the certificate the log records']);
    // The same check on its own thread (what a large inventory gets), from the first certificate on.
    expect(await startInventoryCheck(s.db, { threadFrom: 1 })()).toEqual(['certificate c1: the stored DER is not the certificate the log records']);
  });
});
