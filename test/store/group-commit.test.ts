import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openGroupCommitStore, openStore } from '../../src/store/store.ts';
import { WalFlusher } from '../../src/store/wal-flush.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir();

/** A sync the test completes by hand, recording what was synced. */
function manualSync() {
  const calls: { path: string; done: () => void; fail: (e: Error) => void }[] = [];
  const sync = (path: string) => new Promise<void>((resolve, reject) => calls.push({ path, done: resolve, fail: reject }));
  return { calls, sync };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('WalFlusher (group commit)', () => {
  it('ok/syncs the directory once, then the -wal file; callers during a running sync share the next one', async () => {
    const m = manualSync();
    const f = new WalFlusher('/data/ca.db', { sync: m.sync });
    const settled: string[] = [];
    const a = f.flush().then(() => settled.push('a'));
    await tick();
    expect(m.calls.map((c) => c.path)).toEqual(['/data']);
    m.calls[0]!.done();
    await tick();
    expect(m.calls.map((c) => c.path)).toEqual(['/data', '/data/ca.db-wal']);
    // b and c commit while a's sync runs: that sync may not cover them.
    const b = f.flush().then(() => settled.push('b'));
    const c = f.flush().then(() => settled.push('c'));
    m.calls[1]!.done();
    await a;
    await tick();
    expect(settled).toEqual(['a']);
    expect(m.calls.map((x) => x.path)).toEqual(['/data', '/data/ca.db-wal', '/data/ca.db-wal']);
    m.calls[2]!.done();
    await Promise.all([b, c]);
    expect(settled).toEqual(['a', 'b', 'c']);
    expect(m.calls).toHaveLength(3);
  });

  it('fail/a failed sync rejects its callers; the next flush syncs again', async () => {
    const m = manualSync();
    const f = new WalFlusher('/data/ca.db', { sync: m.sync });
    const first = f.flush();
    await tick();
    m.calls[0]!.done();
    await tick();
    m.calls[1]!.fail(new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    const second = f.flush();
    await tick();
    expect(m.calls).toHaveLength(3);
    m.calls[2]!.done();
    await expect(second).resolves.toBeUndefined();
  });
});

describe('group-commit store', () => {
  it('ok/durably commits first, then waits for a sync of the -wal file before resolving', async () => {
    const path = join(dir, 'g.db');
    const main = openStore(path, { create: true });
    const m = manualSync();
    const store = openGroupCommitStore(main.db, { sync: m.sync });
    let resolved = false;
    const p = store.durably(() => store.audit.append({ at: new Date(0), action: 'test.event', actor: 'test', target: 'x', details: {} })).then(() => (resolved = true));
    await tick();
    // The transaction is committed (another connection sees it) but not yet reported durable.
    const other = new Database(path, { readonly: true });
    expect((other.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n).toBe(1);
    other.close();
    expect(resolved).toBe(false);
    m.calls[0]!.done(); // directory
    await tick();
    expect(m.calls[1]!.path).toBe(`${path}-wal`);
    expect(resolved).toBe(false);
    m.calls[1]!.done();
    await p;
    expect(resolved).toBe(true);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(main.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    store.close();
    main.close();
  });

  it('ok/with the real fdatasync, concurrent durable writes all land and resolve', async () => {
    const path = join(dir, 'h.db');
    const main = openStore(path, { create: true });
    const store = openGroupCommitStore(main.db);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.durably(() => store.audit.append({ at: new Date(i), action: 'test.event', actor: 'test', target: String(i), details: {} }))));
    expect(main.audit.verifyChain()).toEqual({ ok: true, count: 20 });
    store.close();
    main.close();
  });

  it('fail/a transaction that throws is rolled back and never synced', async () => {
    const path = join(dir, 'i.db');
    const main = openStore(path, { create: true });
    const m = manualSync();
    const store = openGroupCommitStore(main.db, { sync: m.sync });
    await expect(
      store.durably(() => {
        store.audit.append({ at: new Date(0), action: 'test.event', actor: 'test', target: 'x', details: {} });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(m.calls).toHaveLength(0);
    expect(main.audit.verifyChain()).toEqual({ ok: true, count: 0 });
    store.close();
    main.close();
  });
});

describe('relaxed commits (rows rebuilt from others when missing)', () => {
  it('ok/commits with synchronous=NORMAL for that transaction only, also when it throws', () => {
    const store = openStore(join(dir, 'j.db'), { create: true });
    const seen: number[] = [];
    store.relaxed(() => {
      seen.push(store.db.pragma('synchronous', { simple: true }) as number);
      store.audit.append({ at: new Date(0), action: 'test.event', actor: 'test', target: 'x', details: {} });
    });
    expect(seen).toEqual([1]);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(() => store.relaxed(() => { throw new Error('no'); })).toThrow('no');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.audit.verifyChain()).toEqual({ ok: true, count: 1 });
    store.close();
  });
});

describe('WalFlusher with the real fdatasync', () => {
  it('ok/keeps the -wal file open between flushes, reopens it when it was deleted and made anew, closes it with the store', async () => {
    const { writeFileSync, readdirSync, readlinkSync, rmSync } = await import('node:fs');
    const base = join(dir, 'k.db');
    const wal = `${base}-wal`;
    const openOn = () =>
      readdirSync('/proc/self/fd')
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return '';
          }
        })
        .filter((l) => l.startsWith(wal));
    writeFileSync(wal, 'a');
    const f = new WalFlusher(base);
    await f.flush();
    await f.flush();
    expect(openOn()).toEqual([wal]);
    rmSync(wal);
    writeFileSync(wal, 'b');
    await f.flush();
    // The descriptor of the deleted file was closed; the one open now is the new file's.
    expect(openOn()).toEqual([wal]);
    f.close();
    expect(openOn()).toEqual([]);
  });
});
