import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeStore } from '../../src/store/acme-store.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { toPositional } from '../../src/store/postgres/placeholders.ts';
import { createTestDatabase, hasPostgres } from '../helpers/postgres.ts';

/**
 * What replicas coordinate through PostgreSQL (#22), with two connections standing for two
 * replicas: leases, shared rate-limit buckets, the write lock every transaction takes, and change
 * notifications.
 */
const ready = hasPostgres();
let url: string;
let a: Store;
let b: Store;

beforeAll(async () => {
  if (!ready) return;
  url = await createTestDatabase();
  a = openStore(url, { create: true });
  b = openStore(url);
}, 60_000);

afterAll(() => {
  a?.close();
  b?.close();
});

describe('placeholders', () => {
  it('rewrites ? outside literals, quoted names and comments, in order', () => {
    expect(toPositional(`SELECT '?', "a?" FROM t WHERE x = ? -- why?\n AND y IN (?, ?) /* ? */ AND z = 'it''s ?'`)).toBe(
      `SELECT '?', "a?" FROM t WHERE x = $1 -- why?\n AND y IN ($2, $3) /* ? */ AND z = 'it''s ?'`,
    );
  });
});

describe.skipIf(!ready)('replica coordination on PostgreSQL', () => { // skips only locally: hasPostgres() throws when CI is set
  it('a lease has one holder at a time, renews for it, lapses when not renewed, and is free once released', () => {
    const t = 1_000_000;
    expect(a.leases.acquire('crl:k:0', 'A', t, 30_000)).toBe(true);
    expect(b.leases.acquire('crl:k:0', 'B', t + 1, 30_000)).toBe(false);
    expect(a.leases.acquire('crl:k:0', 'A', t + 20_000, 30_000)).toBe(true); // renewed to t + 50 s
    expect(b.leases.acquire('crl:k:0', 'B', t + 40_000, 30_000)).toBe(false);
    expect(b.leases.acquire('crl:k:0', 'B', t + 50_000, 30_000)).toBe(true); // A stopped renewing: lapsed
    expect(a.leases.holderOf('crl:k:0', t + 50_001)).toBe('B');
    b.leases.release('crl:k:0', 'B');
    expect(a.leases.acquire('crl:k:0', 'A', t + 50_002, 30_000)).toBe(true);
    expect(a.leases.held('crl:', t + 50_003)).toEqual([{ name: 'crl:k:0', holder: 'A' }]);
  });

  it('rate-limit buckets are one per limit and key across replicas, and say honestly how long to wait', () => {
    const now = 2_000_000;
    const take = (s: Store, at: number) => s.rateBuckets.take('newNonce per IP', '192.0.2.1', at, 3, 1 / 1000);
    expect([take(a, now), take(b, now), take(a, now)]).toEqual([0, 0, 0]);
    expect(take(b, now)).toBe(1);
    expect(take(a, now + 999)).toBe(1);
    expect(take(b, now + 1000)).toBe(0); // one token refilled after a second
    expect(b.rateBuckets.take('newNonce per IP', '192.0.2.2', now, 3, 1 / 1000)).toBe(0); // another key, its own bucket
    expect(a.rateBuckets.purge(now + 1)).toBeGreaterThanOrEqual(1);
  });

  it('every write transaction holds the cluster-wide write lock, so replicas write one at a time as on SQLite', () => {
    // While a transaction of replica A runs, another process cannot take the lock.
    const probe = `import pg from 'pg'; const c = new pg.Client({ connectionString: process.argv[1] }); await c.connect();
      const r = await c.query("SELECT pg_try_advisory_lock(${0x706b69}) AS got"); console.log(r.rows[0].got); await c.end();`;
    const tryLock = () => spawnSync(process.execPath, ['--input-type=module', '-e', probe, url], { encoding: 'utf8' }).stdout.trim();
    const during = a.transaction(() => tryLock());
    expect(during).toBe('false');
    expect(tryLock()).toBe('true');
  });

  it('a commit on one replica is noticed by another through notifications, without polling the tables', async () => {
    const before = b.db.pragma('data_version', { simple: true }) as number;
    a.relaxed(() => a.db.prepare('INSERT INTO crls (issuer, shard, number, this_update, next_update, entries, der) VALUES (?, ?, ?, ?, ?, ?, ?)').run('k', 0, 1, 1, 2, 0, Buffer.from([0x30, 0])));
    const deadline = Date.now() + 2000;
    while ((b.db.pragma('data_version', { simple: true }) as number) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(b.db.pragma('data_version', { simple: true })).not.toBe(before);
    expect(Buffer.from(b.crls.latest('k', 0)!.der)).toEqual(Buffer.from([0x30, 0]));
  });

  it("an account cached by one replica is dropped when another changes it (deactivation seen on the next request)", async () => {
    const now = Date.now();
    a.db.prepare('INSERT INTO acme_accounts (id, thumbprint, jwk, contact, status, eab_kid, eab_binding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('cached1', 't-cached1', '{}', '[]', 'valid', null, null, now);
    const [ra, rb] = [new AcmeStore(a.db), new AcmeStore(b.db)];
    expect(rb.accounts.get('cached1')?.status).toBe('valid'); // now held in b's memory
    ra.accounts.setStatus('cached1', 'deactivated');
    const deadline = Date.now() + 2000;
    while (rb.accounts.get('cached1')?.status !== 'deactivated' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(rb.accounts.get('cached1')?.status).toBe('deactivated');
  });

  it('two replicas finalizing the same order: exactly one moves it to processing (and signs)', () => {
    const now = Date.now();
    a.db.prepare('INSERT INTO acme_accounts (id, thumbprint, jwk, contact, status, eab_kid, eab_binding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('racer', 't-racer', '{}', '[]', 'valid', null, null, now);
    a.db.prepare('INSERT INTO acme_orders (id, account_id, status, identifiers, profile, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run('order1', 'racer', 'ready', '[]', 'default', now + 60_000, now);
    const [ra, rb] = [new AcmeStore(a.db), new AcmeStore(b.db)];
    const won = [ra.orders.startIssuing('order1', 'aa'), rb.orders.startIssuing('order1', 'bb')];
    expect(won).toEqual([true, false]);
    expect(rb.orders.order('order1')).toMatchObject({ status: 'processing', issuingSerial: 'aa' });
  });

  it('a failed statement inside a transaction rolls back only its savepoint where the repository expects it (keyChange to a taken key)', () => {
    const jwk = { kty: 'EC' };
    const now = new Date();
    a.transaction(() => {
      a.db.prepare('INSERT INTO acme_accounts (id, thumbprint, jwk, contact, status, eab_kid, eab_binding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('acct1', 't1', '{}', '[]', 'valid', null, null, now.getTime());
      a.db.prepare('INSERT INTO acme_accounts (id, thumbprint, jwk, contact, status, eab_kid, eab_binding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('acct2', 't2', '{}', '[]', 'valid', null, null, now.getTime());
    });
    const acmeA = new AcmeStore(a.db);
    const changed = a.transaction(() => {
      const ok = acmeA.accounts.replaceKey('acct1', 't1', jwk, 't2');
      acmeA.accounts.setStatus('acct1', 'deactivated'); // the transaction goes on after the refusal
      return ok;
    });
    expect(changed).toBe(false);
    expect(acmeA.accounts.get('acct1')?.status).toBe('deactivated');
  });
});
