import { expect, it } from 'vitest';
import { CaError } from '../../../src/domain/errors.ts';
import { dialectOf } from '../../../src/store/sql.ts';
import { openStore } from '../../../src/store/store.ts';
import { ALL_BYTES, at, contract } from './backends.ts';

const NOW = at('2026-03-01T00:00:00Z');

contract('transactions and values', (f) => {
  it('ok/a transaction that throws leaves nothing of any table', async () => {
    const s = await f.fresh();
    expect(() =>
      s.transaction(() => {
        s.certificates.reserve({ serial: '01', issuer: 'ik', subject: 'CN=a', sans: [], profile: 'p', notBefore: NOW, notAfter: NOW, publicKeySha256: 'k', now: NOW });
        s.audit.append({ at: NOW, action: 'certificate.issued', actor: 'cli', target: '01' });
        s.db.prepare('INSERT INTO acme_spent_nonces (nonce, expires_at) VALUES (?, ?)').run('n', 1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.db.inTransaction).toBe(false);
    expect(s.certificates.get('01')).toBeNull();
    expect(s.audit.lastId()).toBe(0);
    expect(s.audit.log.size()).toBe(0);
    expect(s.db.prepare('SELECT count(*) AS n FROM acme_spent_nonces').get()).toStrictEqual({ n: 0 });
  });

  it('ok/a nested transaction that throws is rolled back to its savepoint; the outer commits', async () => {
    const s = await f.fresh();
    const nonce = s.db.prepare('INSERT INTO acme_spent_nonces (nonce, expires_at) VALUES (?, ?)');
    s.transaction(() => {
      nonce.run('outer-1', 1);
      expect(() =>
        s.transaction(() => {
          nonce.run('inner', 1);
          s.audit.append({ at: NOW, action: 'x', actor: 'cli' });
          throw new Error('inner');
        }),
      ).toThrow('inner');
      expect(s.db.inTransaction).toBe(true);
      s.transaction(() => nonce.run('inner-kept', 1));
      nonce.run('outer-2', 1);
    });
    expect(s.db.prepare('SELECT nonce FROM acme_spent_nonces ORDER BY nonce').pluck().all()).toEqual(['inner-kept', 'outer-1', 'outer-2']);
    expect(s.audit.lastId()).toBe(0);
    // The audit's own savepoint inside a transaction that commits: the event and its leaf stay.
    s.transaction(() => s.audit.append({ at: NOW, action: 'y', actor: 'cli' }));
    expect(s.audit.log.size()).toBe(1);
  });

  // PostgreSQL only (defined for it alone, not skipped): SQLite has no server connection to lose.
  if (f.backend === 'postgres') it('bad/a transaction is all or nothing even when its connection is lost midway', async () => {
    const s = await f.fresh();
    const nonce = s.db.prepare('INSERT INTO acme_spent_nonces (nonce, expires_at) VALUES (?, ?)');
    expect(() =>
      s.transaction(() => {
        nonce.run('before', 1);
        try {
          s.db.prepare('SELECT pg_terminate_backend(pg_backend_pid())').get();
        } catch {
          // carried on, as a repository might after an error it thinks harmless
        }
        // The connection thread notices the closed socket meanwhile (it runs while this one sleeps).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        nonce.run('after', 1);
      }),
    ).toThrow(/lost inside a transaction/);
    expect(s.db.inTransaction).toBe(false);
    expect(s.db.prepare('SELECT nonce FROM acme_spent_nonces').pluck().all()).toEqual([]);
    // The next transaction runs on a new connection.
    s.transaction(() => nonce.run('next', 1));
    expect(s.db.prepare('SELECT nonce FROM acme_spent_nonces').pluck().all()).toEqual(['next']);
  });

  it('ok/durably and relaxed commit like transaction; their rollbacks leave nothing', async () => {
    const s = await f.fresh();
    await s.durably(() => s.audit.append({ at: NOW, action: 'a', actor: 'cli' }));
    s.relaxed(() => s.audit.append({ at: NOW, action: 'b', actor: 'cli' }));
    await expect(
      s.durably(() => {
        s.audit.append({ at: NOW, action: 'c', actor: 'cli' });
        throw new CaError('conflict', 'no');
      }),
    ).rejects.toThrow('no');
    expect(() =>
      s.relaxed(() => {
        s.audit.append({ at: NOW, action: 'd', actor: 'cli' });
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(s.audit.list().map((e) => e.action)).toEqual(['a', 'b']);
  });

  it('ok/bytes round-trip exactly, the empty value included; integers as numbers past 2^32; NULL as null', async () => {
    const s = await f.fresh();
    const put = s.db.prepare('INSERT INTO acme_eab_keys (kid, label, hmac_key, scopes, status, created_at, expires_at, max_accounts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    put.run('k1', 'l', ALL_BYTES, '[]', 'active', 2 ** 40 + 3, null, null);
    put.run('k2', 'l', Buffer.alloc(0), '[]', 'active', Number.MAX_SAFE_INTEGER, 1, 7);
    const rows = s.db.prepare('SELECT kid, hmac_key, created_at, expires_at, max_accounts, bound_count FROM acme_eab_keys ORDER BY kid').all() as Record<string, unknown>[];
    expect(Buffer.isBuffer(rows[0]!.hmac_key)).toBe(true);
    expect((rows[0]!.hmac_key as Buffer).equals(ALL_BYTES)).toBe(true);
    expect(rows[1]!.hmac_key).toEqual(Buffer.alloc(0));
    expect(rows[0]).toMatchObject({ created_at: 2 ** 40 + 3, expires_at: null, max_accounts: null, bound_count: 0 });
    expect(rows[1]).toMatchObject({ created_at: Number.MAX_SAFE_INTEGER, expires_at: 1, max_accounts: 7 });
    const agg = s.db.prepare('SELECT count(*) AS n, sum(created_at) AS total, max(max_accounts) AS m, min(expires_at) AS e FROM acme_eab_keys').get();
    expect(agg).toStrictEqual({ n: 2, total: 2 ** 40 + 3 + Number.MAX_SAFE_INTEGER, m: 7, e: 1 });
    expect(s.db.prepare('SELECT max(created_at) AS m FROM acme_eab_keys WHERE kid = ?').get('none')).toStrictEqual({ m: null });
  });

  it('ok/statement modes: get, all, iterate, pluck, raw; named parameters; a missing row is undefined', async () => {
    const s = await f.fresh();
    const put = s.db.prepare('INSERT INTO acme_spent_nonces (nonce, expires_at) VALUES (?, ?)');
    for (const [n, e] of [['b', 2], ['a', 1], ['c', 3]] as const) expect(put.run(n, e)).toMatchObject({ changes: 1 });
    const sql = 'SELECT nonce, expires_at FROM acme_spent_nonces WHERE expires_at >= ? ORDER BY nonce';
    expect(s.db.prepare(sql).get(2)).toStrictEqual({ nonce: 'b', expires_at: 2 });
    expect(s.db.prepare(sql).get(9)).toBeUndefined();
    expect(s.db.prepare(sql).all(2)).toStrictEqual([{ nonce: 'b', expires_at: 2 }, { nonce: 'c', expires_at: 3 }]);
    expect([...s.db.prepare(sql).iterate(0)].length).toBe(3);
    expect(s.db.prepare(sql).pluck().all(0)).toEqual(['a', 'b', 'c']);
    expect(s.db.prepare(sql).raw().all(3)).toEqual([['c', 3]]);
    const named = s.db.prepare("SELECT nonce FROM acme_spent_nonces WHERE expires_at > :lo AND expires_at < :hi AND nonce <> '::x?' ORDER BY nonce");
    expect(named.pluck().all({ lo: 0, hi: 3 })).toEqual(['a', 'b']);
    expect(s.db.prepare('UPDATE acme_spent_nonces SET expires_at = expires_at + 1 WHERE expires_at < ?').run(3)).toMatchObject({ changes: 2 });
    expect(s.db.prepare('DELETE FROM acme_spent_nonces WHERE nonce = ?').run('zz')).toMatchObject({ changes: 0 });
    // Comparisons come back as SQLite gives them: 1 and 0.
    expect(s.db.prepare("SELECT (nonce = 'a') AS t, (nonce = 'b') AS f FROM acme_spent_nonces WHERE nonce = ?").get('a')).toStrictEqual({ t: 1, f: 0 });
    expect([...s.db.prepare(sql).raw().iterate(3)]).toEqual([['b', 3], ['c', 3]]);
  });

  it('ok/two stores on two databases in one process each see only their own rows', async () => {
    const a = await f.fresh();
    const b = await f.fresh();
    a.audit.append({ at: NOW, action: 'only-a', actor: 'cli' });
    b.transaction(() => {
      b.audit.append({ at: NOW, action: 'only-b', actor: 'cli' });
      b.audit.append({ at: NOW, action: 'only-b', actor: 'cli' });
      expect(a.audit.lastId()).toBe(1); // a is not inside b's transaction
    });
    expect([a.audit.lastId(), b.audit.lastId()]).toEqual([1, 2]);
    a.close();
    expect(b.audit.list().map((e) => e.action)).toEqual(['only-b', 'only-b']);
  });

  it('ok/a commit on another connection to the database moves data_version', async () => {
    const at0 = await f.location();
    const writer = openStore(at0, { create: true });
    try {
      const reader = f.reopen(at0);
      const before = reader.db.pragma('data_version', { simple: true }) as number;
      writer.certificates.reserve({ serial: '0c', issuer: 'ik', subject: 'CN=c', sans: [], profile: 'p', notBefore: NOW, notAfter: NOW, publicKeySha256: 'k', now: NOW });
      writer.certificates.markValid('0c', ALL_BYTES);
      const deadline = Date.now() + 2_000;
      while ((reader.db.pragma('data_version', { simple: true }) as number) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(reader.db.pragma('data_version', { simple: true })).not.toBe(before);
      expect(reader.certificates.get('0c')?.status).toBe('valid');
    } finally {
      writer.close();
    }
  });

  it('ok/the store names its backend', async () => {
    const s = await f.fresh();
    expect(dialectOf(s.db)).toBe(f.backend);
  });
});

contract('opening a database', (f) => {
  it('bad/create on a database that already holds an instance is refused as conflict; nothing changes', async () => {
    const where = await f.location();
    const s = openStore(where, { create: true });
    s.audit.append({ at: NOW, action: 'ca.initialized', actor: 'cli' });
    s.close();
    expect(() => openStore(where, { create: true })).toThrow(expect.objectContaining({ kind: 'conflict', message: expect.stringMatching(/already holds a pki instance/) }));
    expect(f.reopen(where).audit.lastId()).toBe(1);
  });

  it('bad/opening an empty database without create is refused as config', async () => {
    const where = await f.location();
    if (f.backend === 'sqlite') {
      // An empty file (what a failed copy or a truncation leaves).
      const { writeFileSync } = await import('node:fs');
      writeFileSync(where, '');
    }
    expect(() => openStore(where)).toThrow(expect.objectContaining({ kind: 'config', message: expect.stringMatching(/holds no pki schema/) }));
    // And the refused open created nothing: create still works.
    const s = openStore(where, { create: true });
    expect(s.audit.lastId()).toBe(0);
    s.close();
  });
});
