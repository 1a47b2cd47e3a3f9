import Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInventoryCheck } from '../../src/store/inventory-check.ts';
import { inventoryFindings } from '../../src/store/tlog-audit.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { pkiAsync } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { copyInstance, deleteLeafAndParents, env, rechainAndRebuild, seededInstance, startCheck, tamper } from './support.ts';

/**
 * An attacker with write access to the database file (issue #17): each tampering is a test. `pki
 * audit verify` names what and where (exit 1), and the start check `pki serve` runs finds it,
 * refuses issuance (CaError `unavailable`) and signs no checkpoint over it.
 */
const base = tempDir('pki-tamper-');
let good: { dir: string; serials: string[] };
let n = 0;

beforeAll(async () => {
  good = await seededInstance(base, 'good');
}, 60_000);

function copy(): string {
  return copyInstance(good.dir, join(base, `case-${++n}`));
}

async function expectCaught(dir: string, finding: RegExp): Promise<void> {
  const v = await pkiAsync(['audit', 'verify', '--dir', dir], env);
  expect(v.status, v.stderr).toBe(1);
  expect(v.stderr).toMatch(finding);
  const s = await startCheck(dir);
  expect(s.ok).toBe(false);
  expect(s.findings.join('\n')).toMatch(finding);
  expect(s.refusal).toMatch(/does not match the signed transparency log/);
  expect(s.issueError).toMatch(/^unavailable: .*issuance is refused/);
  // Nothing newer was signed over the altered database.
  expect(s.signedAfter).toBe(s.before);
}

describe('tampering with the database is caught', () => {
  it('ok/the untouched instance verifies and its start check passes', async () => {
    const v = await pkiAsync(['audit', 'verify', '--dir', copy()], env);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/transparency log matches its signed checkpoint of \d+ entries; inventory agrees with the log/);
    const s = await startCheck(copy());
    expect(s).toMatchObject({ ok: true, findings: [], refusal: null, issueError: '' });
    expect(s.signedAfter).toBeGreaterThan(s.before!);
  });

  it('bad/deleting the last event (the revocation) and its leaf: the signed checkpoint is longer than the log', async () => {
    const dir = copy();
    tamper(dir, (db) => {
      const { id } = db.prepare('SELECT max(id) AS id FROM audit_events').get() as { id: number };
      db.prepare('DELETE FROM audit_events WHERE id = ?').run(id);
      deleteLeafAndParents(db, id - 1);
    });
    await expectCaught(dir, /signed checkpoint covers (\d+) entries but the log holds \d+: entries were deleted from the end/);
  });

  it('bad/deleting only the last event row: its leaf has no event, and the revoked certificate has no revocation entry', async () => {
    const dir = copy();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)').run());
    await expectCaught(dir, /log leaf \d+ has no audit event/);
  });

  it('bad/deleting a middle event: named by number', async () => {
    const dir = copy();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_events WHERE id = 3').run());
    await expectCaught(dir, /audit event 3 missing \(deleted\)/);
  });

  it('bad/editing an event and recomputing every chain hash and tree node: the root no longer matches the signed checkpoint', async () => {
    const dir = copy();
    tamper(dir, (db) => {
      db.prepare("UPDATE audit_events SET details = json_set(details, '$.reason', 'superseded') WHERE action = 'certificate.revoked'").run();
      rechainAndRebuild(db);
    });
    await expectCaught(dir, /no longer hash to the signed checkpoint's root/);
  });

  it('bad/overwriting a stored leaf or interior node (what proofs are served from) is named by position', async () => {
    const dir = copy();
    tamper(dir, (db) => {
      db.prepare('UPDATE tlog_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0').run();
      db.prepare('UPDATE tlog_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 4').run();
    });
    await expectCaught(dir, /log node 1\/0 does not match the recomputed tree/);
    const v = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(v.stderr).toContain('log leaf 4 does not match audit event 5');
  });

  it('bad/un-revoking a certificate in the inventory: named by serial', async () => {
    const dir = copy();
    tamper(dir, (db) => db.prepare("UPDATE certificates SET status = 'valid', revoked_at = NULL, reason = NULL WHERE serial = ?").run(good.serials[0]));
    await expectCaught(dir, new RegExp(`certificate ${good.serials[0]}: revoked in the log but valid in the inventory \\(un-revoked\\)`));
  });

  it('bad/the inventory check on its own thread (used from 100,000 certificates) finds what the inline one finds', async () => {
    const dir = copy();
    tamper(dir, (db) => db.prepare("UPDATE certificates SET status = 'valid', revoked_at = NULL, reason = NULL WHERE serial = ?").run(good.serials[0]));
    const db = new Database(join(dir, 'pki.db'), { readonly: true });
    try {
      const threaded = await startInventoryCheck(db, { threadFrom: 0 })();
      expect(threaded).toEqual(inventoryFindings(db));
      expect(threaded.join('\n')).toContain(`certificate ${good.serials[0]}: revoked in the log but valid in the inventory`);
    } finally {
      db.close();
    }
  });

  it('bad/deleting a certificate from the inventory, or swapping its bytes: named by serial', async () => {
    const dir = copy();
    tamper(dir, (db) => {
      db.prepare('DELETE FROM certificates WHERE serial = ?').run(good.serials[1]);
      db.prepare('UPDATE certificates SET der = (SELECT der FROM certificates WHERE serial = ?) WHERE serial = ?').run(good.serials[0], good.serials[2]);
    });
    await expectCaught(dir, new RegExp(`certificate ${good.serials[1]}: issued in the log but missing from the inventory`));
    const v = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(v.stderr).toContain(`certificate ${good.serials[2]}: the stored DER is not the certificate the log records`);
  });

  it('bad/a database from another instance: its checkpoint is not signed by this instance\'s log key', async () => {
    const other = await seededInstance(base, 'other', 1);
    const dir = copy();
    copyInstance(join(other.dir, 'pki.db'), join(dir, 'pki.db'));
    await expectCaught(dir, /carries no signature by the log key/);
  }, 60_000);

  it('bad/deleting every checkpoint is reported by verify (the witness holds the last one outside)', async () => {
    const dir = copy();
    tamper(dir, (db) => db.exec('DELETE FROM tlog_checkpoints'));
    const v = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/no signed checkpoint in the database/);
  });

  it('ok/an instance whose token holds no log key (unsigned log): verify still recomputes and cross-checks, and warns', async () => {
    const dir = copy();
    const config = JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8')) as { keyStore: Record<string, unknown> };
    writeFileSync(join(dir, 'pki.json'), JSON.stringify({ ...config, keyStore: { type: 'pkcs11', module: '/nonexistent.so', token: 't' } }));
    rmSync(join(dir, 'log.vkey'));
    tamper(dir, (db) => db.exec('DELETE FROM tlog_checkpoints'));
    const v = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/warning: transparency log unsigned: the pkcs11 key store holds no log key/);
    tamper(dir, (db) => db.prepare("UPDATE certificates SET status = 'valid', revoked_at = NULL, reason = NULL WHERE serial = ?").run(good.serials[0]));
    const bad = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`certificate ${good.serials[0]}: revoked in the log but valid in the inventory`);
  });
});
