import { realpathSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CaInstance } from '../../src/index.ts';
import { authorityWithShards, createTestCa, makeCsr } from '../helpers/ca.ts';

/**
 * Durability of the group commit, observed at the file layer: every fdatasync/fsync the process
 * makes goes through this wrapper (the real call still runs), so a flusher that stops syncing, or
 * syncs the wrong file, or resolves before the sync finished, fails here, whatever the code says.
 */
const fsLog = vi.hoisted(() => ({ events: [] as Record<string, unknown>[], onStart: null as null | ((path: string) => Record<string, unknown>) }));

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const wrap =
    (name: 'fdatasync' | 'fsync') =>
    (fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
      let path = '';
      try {
        path = actual.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        // Not a path we could name: recorded as ''.
      }
      const id = fsLog.events.length;
      fsLog.events.push({ kind: 'sync-start', id, call: name, path, ...(fsLog.onStart?.(path) ?? {}) });
      actual[name](fd, (e) => {
        fsLog.events.push({ kind: 'sync-done', id, path, ok: !e });
        cb(e);
      });
    };
  const fdatasync = wrap('fdatasync');
  const fsync = wrap('fsync');
  return { ...actual, default: { ...actual, fdatasync, fsync }, fdatasync, fsync };
});

let ca: CaInstance;
let dbPath: string;
beforeAll(async () => {
  ca = await createTestCa();
  dbPath = realpathSync(ca.store.db.name);
});
afterAll(async () => {
  await ca?.close();
});

/** A sync of the -wal file that started when `serial` already had `status` (committed) and finished before event index `before`. */
function syncedBefore(serial: string, status: string, before: number): boolean {
  const events = fsLog.events.slice(0, before);
  return events.some(
    (s) =>
      s.kind === 'sync-start' &&
      s.path === `${dbPath}-wal` &&
      (s.rows as Record<string, string>)[serial] === status &&
      events.some((d) => d.kind === 'sync-done' && d.id === s.id && d.ok),
  );
}

describe('durability of an issuance (group commit, real fdatasync)', () => {
  it('ok/the reservation is synced before the key signs, and the valid row before the certificate is returned', async () => {
    // Each signature logged, so the order "reserve synced → sign" can be checked.
    const getSigner = ca.keyStore.getSigner.bind(ca.keyStore);
    vi.spyOn(ca.keyStore, 'getSigner').mockImplementation(async (r) => {
      const s = await getSigner(r);
      return { ...s, sign: (tbs) => (fsLog.events.push({ kind: 'sign' }), s.sign(tbs)) };
    });
    // The instance's issuing key and group-commit store, as `pki serve` opens them.
    const authority = await authorityWithShards(ca, 1);
    // What another connection sees committed at the moment each sync starts.
    const reader = new Database(dbPath, { readonly: true });
    const rows = reader.prepare('SELECT serial, status FROM certificates');
    fsLog.onStart = () => ({ rows: Object.fromEntries((rows.all() as { serial: string; status: string }[]).map((r) => [r.serial, r.status])) });
    fsLog.events.length = 0;
    try {
      const csr = await makeCsr({ cn: 'durable.test', sans: [{ type: 'dns', value: 'durable.test' }] });
      const { serial } = await authority.issue(csr.pem, { actor: 'cli' });
      const ack = fsLog.events.push({ kind: 'ack' }) - 1;
      const sign = fsLog.events.findIndex((e) => e.kind === 'sign');
      expect(sign).toBeGreaterThan(-1);
      // commit(pending) → fdatasync(-wal) done → sign
      expect(syncedBefore(serial, 'pending', sign)).toBe(true);
      // commit(valid) → fdatasync(-wal) done → ack
      expect(syncedBefore(serial, 'valid', ack)).toBe(true);
    } finally {
      fsLog.onStart = null;
      reader.close();
    }
  });
});
