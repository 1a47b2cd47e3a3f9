import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { openInventory } from '../../src/index.ts';
import { pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { copyInstance, env, seededInstance, tamper } from './support.ts';

/**
 * The real `pki serve` and the log: a process killed (-9) between its acts and their checkpoint
 * leaves entries the next start checks, extends and signs, losing none; a database that does not
 * match its signed log starts with issuance refused, /readyz saying why, CRLs still served, and
 * no checkpoint signed.
 */
const base = tempDir('pki-tlog-serve-');
let good: string;

beforeAll(async () => {
  ({ dir: good } = await seededInstance(base, 'good', 1));
}, 60_000);

async function serve(dir: string) {
  const port = await freePort();
  const p = pkiBackground(['serve', '--dir', dir, '--http-port', String(port), '--no-acme'], /serve\.started/, env);
  await p.started;
  return { ...p, url: `http://127.0.0.1:${port}` };
}

const sizeOf = (note: string) => Number(note.split('\n')[1]);

describe('pki serve and the transparency log', () => {
  it('ok/kill -9 after issuing and revoking, before the checkpoint: verify says what is unsigned; the next start extends and signs it all', async () => {
    const dir = copyInstance(good, join(base, 'killed'));
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./kill-child.ts', import.meta.url)), dir], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const acted = JSON.parse(child.stdout) as { serials: string[]; size: number; signed: number };
    expect(acted.signed).toBeLessThan(acted.size);
    const v = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toContain(`(${acted.size - acted.signed} newer entries not yet in a checkpoint)`);

    const s = await serve(dir);
    try {
      const note = await (await fetch(`${s.url}/log/checkpoint`)).text();
      // serve adds its own config.loaded event before it checks and signs.
      expect(sizeOf(note)).toBeGreaterThanOrEqual(acted.size);
      for (const serial of acted.serials) expect((await fetch(`${s.url}/log/proof/inclusion?serial=${serial}`)).status, serial).toBe(200);
      const ready = (await (await fetch(`${s.url}/readyz`)).json()) as { checks: { log: { ok: boolean } } };
      expect(ready.checks.log.ok).toBe(true);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    const again = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('not yet in a checkpoint');
  }, 90_000);

  it('bad/a tampered database: serve starts, refuses issuance, /readyz says why, CRLs still answer, nothing is signed', async () => {
    const dir = copyInstance(good, join(base, 'tampered'));
    tamper(dir, (db) => db.prepare("UPDATE certificates SET status = 'valid', revoked_at = NULL, reason = NULL WHERE status = 'revoked'").run());
    const inv = await openInventory(dir);
    const before = inv.store.audit.log.latestCheckpoint()!.size;
    const { issuer } = inv.store.db.prepare("SELECT issuer FROM certificates WHERE profile NOT IN ('root', 'intermediate') LIMIT 1").get() as { issuer: string };
    inv.close();
    const s = await serve(dir);
    try {
      const res = await fetch(`${s.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { reason: string; checks: { log: { ok: boolean; detail: string } } };
      expect(body.reason).toMatch(/^log: the database does not match the signed transparency log \(certificate [0-9a-f]+: revoked in the log but valid in the inventory/);
      expect(body.checks.log.ok).toBe(false);
      const crl = await fetch(`${s.url}/crl/${issuer}/0.crl`);
      expect(crl.status).toBe(200);
      expect(crl.headers.get('content-type')).toBe('application/pkix-crl');
      expect(sizeOf(await (await fetch(`${s.url}/log/checkpoint`)).text())).toBe(before);
      expect(s.output().stdout).toContain('tlog.refused');
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    const inv2 = await openInventory(dir);
    expect(inv2.store.audit.log.latestCheckpoint()!.size).toBe(before);
    inv2.close();
  }, 90_000);
});
