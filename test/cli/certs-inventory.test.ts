import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatTable } from '../../cli/common.ts';
import { initInstance, openInventory, type Inventory } from '../../src/index.ts';
import { pki } from '../helpers/cli.ts';
import { TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * `pki certs list` and `pki certs stats` at fleet scale (#21): keyset pages in serial order,
 * honest about what is left, complete JSON, no DER unless asked, counts from the index.
 */
const N = 3000;
const dir = join(tempDir(), 'ca');
let inv: Inventory;
const now = Math.floor(Date.now() / 1000);
/** Seeded rows: every 10th revoked, every 7th expiring within a day, every 5th of profile "iot". */
const seeded: string[] = [];

beforeAll(async () => {
  await initInstance({ dir, passphrase: TEST_PASSPHRASE });
  inv = await openInventory(dir);
  const insert = inv.store.db.prepare(
    `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, revoked_at, reason, der, public_key_sha256, created_at)
     VALUES (?, 'k', '', ?, ?, ?, ?, ?, ?, ?, x'3000', '', ?)`,
  );
  inv.store.db.transaction(() => {
    for (let i = 0; i < N; i++) {
      const serial = `5e${i.toString(16).padStart(30, '0')}`;
      seeded.push(serial);
      const revoked = i % 10 === 0;
      insert.run(serial, JSON.stringify([`dns:d${i}.fleet`]), i % 5 === 0 ? 'iot' : 'default', now - 60, now + (i % 7 === 0 ? 3600 : 30 * 86400), revoked ? 'revoked' : 'valid', revoked ? now : null, revoked ? 1 : null, now);
    }
  })();
});
afterAll(() => inv?.close());

describe('certificate inventory at scale', () => {
  it('ok/the table formatter takes a million rows (no spread into Math.max)', () => {
    const rows = Array.from({ length: 1_000_000 }, (_, i) => [String(i), 'x']);
    expect(formatTable(['A', 'B'], rows).split('\n')[0]).toBe('A       B');
  });

  it('ok/pages chain by keyset in serial order, never read the DER unless asked, and use the inventory index without a sort', () => {
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = inv.store.inventory.page({ now: new Date(now * 1000), after, limit: 700 });
      if (page.length === 0) break;
      expect(page.every((r) => r.der === undefined)).toBe(true);
      all.push(...page.map((r) => r.serial));
      after = page.at(-1)!.serial;
    }
    expect(all).toEqual([...all].sort());
    expect(new Set(all).size).toBe(all.length);
    expect(seeded.every((s) => all.includes(s))).toBe(true);
    expect(inv.store.inventory.page({ now: new Date(), limit: 1, withDer: true })[0]!.der).toBeInstanceOf(Uint8Array);
    for (const status of ['valid', 'revoked', 'expired'] as const) {
      const plan = (inv.store.db.prepare(`EXPLAIN QUERY PLAN SELECT serial FROM certificates WHERE serial > ? AND status = ? AND not_after > ? ORDER BY serial LIMIT 10`).all('', status, 0) as { detail: string }[]).map((p) => p.detail).join('\n');
      expect(plan).toMatch(/certificates_inventory/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('ok/stats: live, expiring, revoked and by profile from aggregate SQL over the index alone', () => {
    const s = inv.store.inventory.stats(new Date(now * 1000), new Date((now + 86400) * 1000));
    const revoked = seeded.filter((_, i) => i % 10 === 0).length;
    const expiring = seeded.filter((_, i) => i % 10 !== 0 && i % 7 === 0).length;
    expect(s.revoked).toBe(revoked);
    expect(s.expiring).toBe(expiring);
    expect(s.live).toBeGreaterThanOrEqual(N - revoked); // plus the CA's own certificates
    expect(s.byProfile.find((p) => p.profile === 'iot')!.live).toBe(seeded.filter((_, i) => i % 5 === 0 && i % 10 !== 0).length);
    const plan = (inv.store.db.prepare(`EXPLAIN QUERY PLAN SELECT profile, count(*) FROM certificates INDEXED BY certificates_inventory GROUP BY profile`).all() as { detail: string }[]).map((p) => p.detail).join('\n');
    expect(plan).toMatch(/COVERING INDEX certificates_inventory/);
  });

  it('ok/audit events by target are read through their index (pki serve reads its config events at start), not a scan', () => {
    const sql = { source: 'SELECT * FROM audit_events WHERE target = ? AND at >= ? ORDER BY id ASC LIMIT ?' };
    const plan = (inv.store.db.prepare(`EXPLAIN QUERY PLAN ${sql.source}`).all('pki.json', 0, 10) as { detail: string }[]).map((p) => p.detail).join('\n');
    expect(plan).toMatch(/SEARCH audit_events USING INDEX audit_events_by_target \(target=\?\)/);
    const spy = vi.spyOn(inv.store.db, 'prepare');
    expect(inv.store.audit.list({ target: 'pki.json' }).every((e) => e.target === 'pki.json')).toBe(true);
    expect(spy.mock.calls.map((c) => c[0])).toContain(sql.source);
    spy.mockRestore();
  });

  it('ok/pki certs list: a table page says there are more and how to continue; --after continues', () => {
    const first = pki(['certs', 'list', '--dir', dir, '--limit', '5']);
    expect(first.status).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(6); // header + 5
    const last = lines[5]!.split(/\s+/)[0]!;
    expect(first.stderr).toMatch(new RegExp(`5 shown; more certificates match: continue with --after ${last}`));
    const next = pki(['certs', 'list', '--dir', dir, '--limit', '5', '--after', last, '--jsonl']);
    const serials = next.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { serial: string }).serial);
    expect(serials).toHaveLength(5);
    expect(serials[0]! > last).toBe(true);
    expect(pki(['certs', 'list', '--dir', dir]).stderr).toMatch(/100 shown; more certificates match: continue with --after \w+ \(or --all\)/);
  });

  it('ok/pki certs list --json is the complete array (streamed in pages), --status revoked every revoked one', () => {
    const all = JSON.parse(pki(['certs', 'list', '--dir', dir, '--json']).stdout) as { serial: string }[];
    expect(all.length).toBeGreaterThanOrEqual(N);
    expect(seeded.every((s, i) => all[i + all.findIndex((r) => r.serial === seeded[0])]?.serial === s)).toBe(true);
    const revoked = JSON.parse(pki(['certs', 'list', '--dir', dir, '--json', '--status', 'revoked']).stdout) as { status: string }[];
    expect(revoked).toHaveLength(N / 10);
    const stats = JSON.parse(pki(['certs', 'stats', '--dir', dir, '--json', '--expiring', '1d']).stdout) as { revoked: number; expiring: number };
    expect(stats.revoked).toBe(N / 10);
    expect(stats.expiring).toBe(seeded.filter((_, i) => i % 10 !== 0 && i % 7 === 0).length);
  });

  it('fail/bad paging options are clear errors', () => {
    for (const [args, msg] of [
      [['--limit', '0'], /--limit must be a whole number/],
      [['--after', 'zz'], /--after must be a serial in hex/],
      [['--json', '--jsonl'], /one of --json and --jsonl/],
      [['--pem'], /--pem needs --json or --jsonl/],
      [['--limit', '3', '--all'], /one of --limit and --all/],
    ] as const) {
      const r = pki(['certs', 'list', '--dir', dir, ...args]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(msg);
    }
  });
});
