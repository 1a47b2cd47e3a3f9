import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate, openDatabase, schemaVersion } from '../../src/store/sqlite.ts';
import { openStore } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir();

const reservation = (serial: string) => ({
  serial,
  issuer: 'aa',
  subject: '',
  sans: ['dns:a.internal'],
  profile: 'default',
  notBefore: new Date(0),
  notAfter: new Date(86_400_000),
  publicKeySha256: 'ff',
  now: new Date(0),
});

describe('SQLite store', () => {
  it('ok/opens with WAL, foreign keys, busy timeout and synchronous=FULL, all migrations applied', () => {
    const db = openDatabase(join(dir, 'a.db'), { create: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(schemaVersion(db)).toBe(loadMigrations().at(-1)!.version);
    db.close();
  });

  it('ok/migrations are forward-only and applied once', () => {
    const mdir = mkdtempSync(join(dir, 'm-'));
    writeFileSync(join(mdir, '001_a.sql'), 'CREATE TABLE a (x INTEGER);');
    const db = openDatabase(join(dir, 'b.db'), { create: true });
    db.exec('DROP TABLE IF EXISTS a');
    db.exec('DELETE FROM schema_migrations');
    migrate(db, loadMigrations(mdir));
    migrate(db, loadMigrations(mdir)); // a second run must not re-create table a
    writeFileSync(join(mdir, '002_b.sql'), 'CREATE TABLE b (y INTEGER);');
    migrate(db, loadMigrations(mdir));
    expect(schemaVersion(db)).toBe(2);
    expect(() => migrate(db, loadMigrations(mdir).slice(0, 1))).toThrow(/newer than this pki knows/);
    db.close();
  });

  it('fail/a serial can be reserved only once (DB constraint)', () => {
    const store = openStore(join(dir, 'c.db'), { create: true });
    store.certificates.reserve(reservation('0abc'));
    expect(() => store.certificates.reserve(reservation('0abc'))).toThrow(/already exists/);
    store.close();
  });

  it('fail/a valid row must carry its DER; a pending one must not', () => {
    const store = openStore(join(dir, 'd.db'), { create: true });
    store.certificates.reserve(reservation('0abd'));
    expect(() => store.db.prepare(`UPDATE certificates SET status = 'valid' WHERE serial = '0abd'`).run()).toThrow(/CHECK constraint/);
    store.certificates.markValid('0abd', new Uint8Array([0x30, 0x00]));
    expect(store.certificates.get('0abd')!.status).toBe('valid');
    expect(() => store.certificates.markValid('0abd', new Uint8Array([0x30, 0x00]))).toThrow(/not pending/);
    store.close();
  });

  it('ok/the audit trail is a hash chain; it refuses edits, and a forged row is found', () => {
    const store = openStore(join(dir, 'e.db'), { create: true });
    for (let i = 0; i < 5; i++) store.audit.append({ at: new Date(i), action: 'test.event', actor: 'test', target: String(i), details: { i } });
    expect(store.audit.verifyChain()).toEqual({ ok: true, count: 5 });
    expect(() => store.db.prepare(`UPDATE audit_events SET actor = 'mallory' WHERE id = 3`).run()).toThrow(/append-only/);
    expect(() => store.db.prepare(`DELETE FROM audit_events WHERE id = 3`).run()).toThrow(/append-only/);
    // Someone with raw file access drops the trigger and edits row 3.
    store.db.exec('DROP TRIGGER audit_events_no_update');
    store.db.prepare(`UPDATE audit_events SET actor = 'mallory' WHERE id = 3`).run();
    expect(store.audit.verifyChain()).toMatchObject({ ok: false, brokenId: 3 });
    store.close();
  });

  it('ok/transactions: one IMMEDIATE transaction per call, a nested call is a savepoint that rolls back alone', () => {
    const store = openStore(join(dir, 'tx.db'), { create: true });
    const count = () => store.db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number };
    const append = (target: string) => store.audit.append({ at: new Date(0), action: 'test.event', actor: 'test', target, details: {} });
    const result = store.transaction(() => {
      expect(store.db.inTransaction).toBe(true);
      append('outer-1');
      expect(() => store.transaction(() => {
        append('inner');
        throw new Error('inner fails');
      })).toThrow('inner fails');
      append('outer-2');
      return 'done';
    });
    expect(result).toBe('done');
    expect(store.db.inTransaction).toBe(false);
    expect(count().n).toBe(2);
    expect(() => store.transaction(() => {
      append('lost');
      throw new Error('outer fails');
    })).toThrow('outer fails');
    expect(count().n).toBe(2);
    // The same store keeps working after every way out, with its own function each time.
    expect(store.transaction(() => store.transaction(() => 7))).toBe(7);
    store.close();
  });
});
