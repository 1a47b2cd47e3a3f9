import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRevocation, openInstance, silentLogger, startServer } from '../../src/index.ts';
import { createTestCa, makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { pkiAsync } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * docs/operations.md "Backup and restore", end to end: a backup taken while the server runs,
 * restored onto another directory as the doc says, serves OCSP for every certificate the
 * original issued (good, or revoked with the original's answer) and keeps an intact audit chain.
 */
describe('backup → restore', () => {
  it('ok/a restored instance answers OCSP for every certificate the original issued', async () => {
    const port = await freePort();
    const ca = await createTestCa({ baseUrl: `http://127.0.0.1:${port}` });
    const server = await startServer(ca, { host: '127.0.0.1', port, logger: silentLogger, acme: false, status: { crlRebuildDelayMs: 20 } });
    const serials: string[] = [];
    for (let i = 0; i < 12; i++) serials.push((await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: `r${i}.restore.test` }] })).pem)).serial);
    await ca.authority.revoke(serials[3]!, { reason: 'keyCompromise' });
    await ca.authority.revoke(serials[7]!, { reason: 'superseded' });

    const backup = join(tempDir(), 'pki-backup.db');
    const b = await pkiAsync(['backup', '--dir', ca.dir, '--out', backup]);
    expect(b.status, b.stderr).toBe(0);
    await server.close();
    // Every certificate the original's intermediate signed (the OCSP responder's own certificate
    // carries id-pkix-ocsp-nocheck and no OCSP URL: nobody asks about it).
    const issued = ca.store.db
      .prepare(`SELECT serial, status, der FROM certificates WHERE issuer = ? AND status IN ('valid', 'revoked') AND profile != 'ocsp-responder' ORDER BY serial`)
      .all(ca.authority.issuer.keyId) as { serial: string; status: string; der: Buffer }[];
    await ca.close();
    expect(issued.length).toBeGreaterThanOrEqual(12);

    // The restore steps of docs/operations.md, onto a fresh directory (a replacement machine).
    const restored = join(tempDir(), 'restored');
    cpSync(ca.dir, restored, { recursive: true, filter: (src) => !/pki\.db(-wal|-shm)?$/.test(src) });
    copyFileSync(backup, join(restored, 'pki.db'));
    chmodSync(join(restored, 'pki.db'), 0o600);
    const verify = await pkiAsync(['audit', 'verify', '--dir', restored]);
    expect(verify.status, verify.stderr).toBe(0);

    const copy = await openInstance({ dir: restored, env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
    const again = await startServer(copy, { host: '127.0.0.1', port, logger: silentLogger, acme: false });
    try {
      const issuerDer = new Uint8Array(copy.intermediate.rawData);
      for (const c of issued) {
        const r = await checkRevocation({ certDer: new Uint8Array(c.der), issuerDer, timeoutMs: 10_000 });
        expect(r.ocsp.status, `${c.serial}: ${r.ocsp.detail}`).toBe(c.status === 'valid' ? 'good' : 'revoked');
        expect(r.crl.status, `${c.serial}: ${r.crl.detail}`).toBe(c.status === 'valid' ? 'good' : 'revoked');
      }
      expect(issued.filter((c) => c.status === 'revoked').map((c) => c.serial).sort()).toEqual([serials[3], serials[7]].sort());
    } finally {
      await again.close();
      await copy.close();
    }
    // The backup file itself is a consistent database.
    const db = new Database(backup, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
