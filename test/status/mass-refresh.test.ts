import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixedClock } from '../../src/domain/clock.ts';
import { initInstance, openInstance, silentLogger, type CaInstance } from '../../src/index.ts';
import { StatusService } from '../../src/status/status-service.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;
/** More than one refresh batch (500), so the refresh has rounds. */
const DUE = 1_500;
const options = { ocspValidityMs: 12 * HOUR, ocspRefreshBeforeMs: 6 * HOUR, pollIntervalMs: 24 * HOUR, maintenanceIntervalMs: 24 * HOUR, crlRebuildDelayMs: 24 * HOUR };

/**
 * A fleet issued together comes due for its OCSP refresh together (and so does one after the CA
 * was down). The refresh must not take the primary's event loop from the requests it serves, nor
 * hold back what other processes commit meanwhile.
 */
describe('status service: a refresh of many responses due at once', () => {
  const clock = fixedClock(new Date('2026-03-01T12:00:00Z'));
  let ca: CaInstance;
  let status: StatusService;
  const due: string[] = [];

  beforeAll(async () => {
    const dir = join(tempDir(), 'ca');
    await initInstance({ dir, passphrase: TEST_PASSPHRASE, clock });
    ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE }, clock });
    status = new StatusService({ store: ca.store, authority: ca.authority, clock, logger: silentLogger, options });
    status.attach();
    await status.start();
    await status.caughtUp;
    // DUE live certificates of this issuer whose stored responses reach their refresh margin in an
    // hour (rows written directly: signing them one by one is not what this test is about).
    const now = Math.floor(clock.now().getTime() / 1000);
    const cert = ca.store.db.prepare(
      `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, der, public_key_sha256, created_at)
       VALUES (?, ?, '', '[]', 'default', ?, ?, 'valid', x'00', '', ?)`,
    );
    for (let i = 0; i < DUE; i++) due.push(`5a${i.toString(16).padStart(30, '0')}`);
    ca.store.db.transaction(() => {
      for (const serial of due) cert.run(serial, ca.authority.issuer.keyId, now - 60, now + 48 * 3600, now);
      ca.store.ocspResponses.putMany(due.map((serial) => ({ serial, certStatus: 'good', thisUpdate: new Date((now - 5 * 3600) * 1000), nextUpdate: new Date((now + 7 * 3600) * 1000), responder: 'old', der: Uint8Array.of(0x30, 0x00) })));
    })();
  });
  afterAll(async () => {
    status?.stop();
    await ca?.close();
  });

  it('ok/re-signed in slices written in one commit each, with the event loop free between slices, and a revocation committed elsewhere meanwhile is signed before the refresh ends', async () => {
    const victim = await ca.authority.issue((await makeCsr({ cn: 'victim.example', sans: [{ type: 'dns', value: 'victim.example' }] })).pem, { lifetimeMs: 48 * HOUR });
    clock.advance(2 * HOUR);
    // Counts turns of the event loop's check phase: a request arriving meanwhile is answered in such a turn.
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const commits: { serials: string[]; turn: number }[] = [];
    let revoked = false;
    const putMany = ca.store.ocspResponses.putMany.bind(ca.store.ocspResponses);
    vi.spyOn(ca.store.ocspResponses, 'putMany').mockImplementation((rows) => {
      commits.push({ serials: rows.map((r) => r.serial), turn: turns });
      return putMany(rows);
    });
    // After the first slice another process (`pki revoke`) revokes a certificate.
    const other = await openInstance({ dir: ca.dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE }, clock });
    const refreshed = status.runMaintenance();
    while (commits.length === 0) await new Promise((r) => setImmediate(r));
    await other.authority.revoke(victim.serial, { reason: 'keyCompromise', actor: 'cli' });
    revoked = true;
    await refreshed;
    await other.close();
    ticking = false;
    vi.restoreAllMocks();

    expect(revoked).toBe(true);
    // Every due response re-signed, none skipped.
    for (const serial of due) expect(ca.store.ocspResponses.get(serial)!.thisUpdate.getTime(), serial).toBe(clock.now().getTime());
    const refresh = commits.filter((c) => c.serials.some((s) => due.includes(s)));
    // Far fewer commits than responses (one synchronous commit each held the loop for seconds at 1M)…
    expect(refresh.length).toBeGreaterThan(1);
    expect(refresh.length).toBeLessThanOrEqual(DUE / 4);
    // …and the loop turned between every two of them.
    for (let i = 1; i < commits.length; i++) expect(commits[i]!.turn, `commit ${i}`).toBeGreaterThan(commits[i - 1]!.turn);
    // The revocation was picked up between refresh batches, not after the whole refresh.
    const victimAt = commits.findIndex((c) => c.serials.includes(victim.serial));
    expect(victimAt).toBeGreaterThan(0);
    expect(victimAt).toBeLessThan(commits.lastIndexOf(refresh[refresh.length - 1]!));
    expect(ca.store.ocspResponses.get(victim.serial)!.certStatus).toBe('revoked');
  });
});
