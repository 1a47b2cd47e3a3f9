import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { crlShardFor } from '../../src/domain/crl-shards.ts';
import { fixedClock } from '../../src/domain/clock.ts';
import { initInstance, openInstance, silentLogger, type CaInstance } from '../../src/index.ts';
import { readCrl } from '../../src/client/crl-reader.ts';
import { StatusService } from '../../src/status/status-service.ts';
import { authorityWithShards, makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import type { Authority } from '../../src/authority/authority.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;
const SHARDS = 4;
const options = { pollIntervalMs: 24 * HOUR, maintenanceIntervalMs: 24 * HOUR, crlRebuildDelayMs: 24 * HOUR };

function certStatusOf(der: Uint8Array): ocsp.CertStatus {
  const r = AsnConvert.parse(der, ocsp.OCSPResponse);
  return AsnConvert.parse(r.responseBytes!.response, ocsp.BasicOCSPResponse).tbsResponseData.responses[0]!.certStatus;
}

/**
 * The periodic poll follows what other processes (`pki revoke`, `pki issue`) commit through the
 * audit events after its mark, looking certificates up by key, instead of scanning every live
 * certificate of the issuer (which start() still does once).
 */
describe('status service poll: incremental, driven by the audit trail', () => {
  const clock = fixedClock(new Date('2026-03-01T12:00:00Z'));
  let ca: CaInstance;
  let status: StatusService;
  /** The instance's authority with SHARDS CRL shards. */
  let authority: Authority;
  let prepare: MockInstance;
  /** SQL the main connection prepared while a poll ran (statements first used by the poll). */
  const preparedByPoll: string[] = [];

  beforeAll(async () => {
    const dir = join(tempDir(), 'ca');
    await initInstance({ dir, passphrase: TEST_PASSPHRASE, clock });
    ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE }, clock });
    // Polls, upkeep and CRL rebuilds run only when a test asks (runPoll, crls.flush): a timer's
    // round could take events from under a test or run its own queries during a poll.
    authority = await authorityWithShards(ca, SHARDS);
    status = new StatusService({ store: ca.store, authority, clock, logger: silentLogger, options });
    status.attach();
    await status.start();
    prepare = vi.spyOn(ca.store.db, 'prepare');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    prepare = vi.spyOn(ca.store.db, 'prepare');
  });
  afterAll(async () => {
    status?.stop();
    await ca?.close();
  });

  const poll = async () => {
    const before = prepare.mock.calls.length;
    await status.runPoll();
    for (const call of prepare.mock.calls.slice(before)) preparedByPoll.push(call[0] as string);
  };

  /** Another process on the same database file, as the CLI opens it. */
  const elsewhere = async <T>(fn: (other: CaInstance) => Promise<T>): Promise<T> => {
    const other = await openInstance({ dir: ca.dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE }, clock });
    try {
      return await fn(other);
    } finally {
      await other.close();
    }
  };

  const csr = async (name: string) => (await makeCsr({ cn: name, sans: [{ type: 'dns', value: name }] })).pem;

  it('ok/a revocation committed by another process: the poll serves it revoked and rebuilds its CRL shard with it listed', async () => {
    const leaf = await authority.issue(await csr('revoked-elsewhere.example'), { lifetimeMs: 24 * HOUR });
    expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('good');
    await elsewhere((other) => other.authority.revoke(leaf.serial, { reason: 'keyCompromise', actor: 'cli' }));
    const shard = crlShardFor(leaf.serial, SHARDS);
    expect(readCrl(status.crls.current(shard)!.der).find(leaf.serial)).toBeNull();
    const markDirty = vi.spyOn(status.crls, 'markDirty');

    await poll();

    expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('revoked');
    const served = status.cache.get(leaf.serial, clock.now().getTime())!;
    expect(certStatusOf(served.body).revoked?.revocationReason?.reason).toBe(1); // keyCompromise
    expect(markDirty).toHaveBeenCalledWith(shard);
    await status.crls.flush();
    expect(readCrl(status.crls.current(shard)!.der).find(leaf.serial)?.reason).toBe(1);
  });

  it('ok/a certificate issued by another process gets a good response from the poll', async () => {
    const leaf = await elsewhere(async (other) => other.authority.issue(await csr('issued-elsewhere.example'), { lifetimeMs: 24 * HOUR, actor: 'cli' }));
    expect(ca.store.ocspResponses.get(leaf.serial)).toBeNull();
    expect(status.cache.get(leaf.serial, clock.now().getTime())).toBeNull();

    await poll();

    expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('good');
    expect(certStatusOf(status.cache.get(leaf.serial, clock.now().getTime())!.body).good).toBeNull(); // present (NULL) = good
  });

  it('ok/a revocation committed while start() scans is caught by the first poll (the mark is taken before the scan)', async () => {
    const leaf = await authority.issue(await csr('during-start.example'), { lifetimeMs: 24 * HOUR });
    await elsewhere(async (other) => {
      // Commits like `pki revoke` (certificate row and audit event in one transaction), right after
      // start()'s last scan came back empty: too late for the scan, so only the poll can see it.
      const scan = ca.store.ocspResponses.staleWindow.bind(ca.store.ocspResponses);
      let committed = false;
      vi.spyOn(ca.store.ocspResponses, 'staleWindow').mockImplementation((...a) => {
        const found = scan(...a);
        if (found.last === null && !committed) {
          committed = true;
          other.store.transaction(() => {
            other.store.certificates.revoke(leaf.serial, clock.now(), 4);
            other.store.audit.append({ at: clock.now(), action: 'certificate.revoked', actor: 'cli', target: leaf.serial, details: { reason: 'superseded' } });
          });
        }
        return found;
      });
      const fresh = new StatusService({ store: ca.store, authority, clock, logger: silentLogger, options });
      await fresh.start();
      await fresh.caughtUp; // start()'s scan runs as the first background job
      try {
        expect(committed).toBe(true);
        expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('good');
        await fresh.runPoll();
        expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('revoked');
      } finally {
        fresh.stop();
      }
    });
  });

  it('ok/a revocation committed while start()\'s scan is between windows is picked up before the next window, not at the end of the scan', async () => {
    const leaf = await authority.issue(await csr('between-windows.example'), { lifetimeMs: 24 * HOUR });
    await elsewhere(async (other) => {
      const scan = ca.store.ocspResponses.staleWindow.bind(ca.store.ocspResponses);
      const seenAtWindow: string[] = [];
      vi.spyOn(ca.store.ocspResponses, 'staleWindow').mockImplementation((...a) => {
        seenAtWindow.push(ca.store.ocspResponses.get(leaf.serial)!.certStatus);
        if (seenAtWindow.length > 1) return scan(...a);
        // The first window (as if a million rows followed); then `pki revoke` commits elsewhere.
        other.store.transaction(() => {
          other.store.certificates.revoke(leaf.serial, clock.now(), 4);
          other.store.audit.append({ at: clock.now(), action: 'certificate.revoked', actor: 'cli', target: leaf.serial, details: { reason: 'superseded' } });
        });
        return { stale: [], last: '00' };
      });
      const fresh = new StatusService({ store: ca.store, authority, clock, logger: silentLogger, options });
      await fresh.start();
      await fresh.caughtUp;
      fresh.stop();
      expect(seenAtWindow.slice(0, 2)).toEqual(['good', 'revoked']);
    });
  });

  it('ok/the poll looks only at what the audit events since its mark name: no scan, whatever the size of the table', async () => {
    await poll(); // whatever earlier tests left for this service
    // 2,000 live certificates of this issuer with no response and no audit event: rows the poll is
    // never told about. The full scan (start()) would sign every one; the poll must not even read them.
    const now = Math.floor(clock.now().getTime() / 1000);
    const insert = ca.store.db.prepare(
      `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, der, public_key_sha256, created_at)
       VALUES (?, ?, '', '[]', 'default', ?, ?, 'valid', x'00', '', ?)`,
    );
    const untold = Array.from({ length: 2000 }, (_, i) => `7e${i.toString(16).padStart(30, '0')}`);
    ca.store.db.transaction(() => {
      for (const serial of untold) insert.run(serial, authority.issuer.keyId, now - 60, now + 24 * 3600, now);
    })();
    const victim = await authority.issue(await csr('victim.example'), { lifetimeMs: 24 * HOUR });
    const [issued] = await elsewhere(async (other) => [
      await other.authority.issue(await csr('new-elsewhere.example'), { lifetimeMs: 24 * HOUR, actor: 'cli' }),
      await other.authority.revoke(victim.serial, { reason: 'superseded', actor: 'cli' }),
    ]);

    const stale = vi.spyOn(ca.store.ocspResponses, 'staleWindow');
    const staleAmong = vi.spyOn(ca.store.ocspResponses, 'staleAmong');
    const targets = vi.spyOn(ca.store.audit, 'targetsBetween');
    const written = vi.spyOn(ca.store.ocspResponses, 'putMany');
    await poll();

    expect(stale).not.toHaveBeenCalled();
    // What the audit events after the mark name: this process's own issuance of the victim (already
    // signed through the hook, so not stale), then the other process's issuance and revocation.
    const read = targets.mock.results.flatMap((r) => r.value as string[]);
    expect(read).toEqual([victim.serial, issued!.serial, victim.serial]);
    expect(staleAmong.mock.calls.flatMap((c) => c[1])).toEqual(read);
    expect(written.mock.calls.flatMap((c) => c[0].map((r) => r.serial)).sort()).toEqual([issued!.serial, victim.serial].sort());
    expect(ca.store.ocspResponses.get(victim.serial)!.certStatus).toBe('revoked');
    expect(ca.store.ocspResponses.get(issued!.serial)!.certStatus).toBe('good');
    expect(untold.filter((s) => ca.store.ocspResponses.get(s) !== null)).toEqual([]);

    // And the statements behind it read by key: a range of the audit primary key, one lookup per
    // serial in certificates (its primary key, or the inventory index by status and serial) and
    // ocsp_responses, a range of the response feed's seq index. The only
    // scan is of the list handed in (json_each).
    const sql = preparedByPoll.filter((s) => /audit_events|certificates|ocsp_responses/.test(s));
    expect(sql.some((s) => s.includes('FROM audit_events'))).toBe(true);
    expect(sql.some((s) => s.includes('CROSS JOIN certificates'))).toBe(true);
    const byKey = /^SEARCH \w+ USING (INTEGER PRIMARY KEY \(rowid[<>=]|(COVERING )?INDEX sqlite_autoindex_\w+ \(serial=\?\)|INDEX ocsp_responses_by_seq \(seq>\?\)|INDEX certificates_inventory \(status=\? AND serial=\?)/;
    for (const s of sql) {
      const params = (s.match(/\?/g) ?? []).length;
      const plan = (ca.store.db.prepare(`EXPLAIN QUERY PLAN ${s}`).all(...Array<null>(params).fill(null)) as { detail: string }[]).map((p) => p.detail);
      const tableReads = plan.filter((d) => /^(SCAN|SEARCH) /.test(d) && !/^SCAN (json_each|s)\b/.test(d));
      expect(tableReads.length, s).toBeGreaterThan(0);
      for (const d of tableReads) expect(d, `${s}\n${plan.join('\n')}`).toMatch(byKey);
    }
  });

  it('ok/a poll that failed part-way resumes at the next one, even when nothing else was committed', async () => {
    const leaf = await elsewhere(async (other) => other.authority.issue(await csr('retry.example'), { lifetimeMs: 24 * HOUR, actor: 'cli' }));
    vi.spyOn(ca.store.ocspResponses, 'putMany').mockImplementationOnce(() => {
      throw new Error('database is locked');
    });
    await poll(); // logged and given up for now
    expect(ca.store.ocspResponses.get(leaf.serial)).toBeNull();

    await poll(); // no other commit since: data_version alone would skip this round
    expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('good');
  });
});
