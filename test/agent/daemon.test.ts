import { spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PKI_BIN } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { agentArtifacts, runAgent, useServedCa } from './support.ts';

/**
 * `renew --daemon` (issue #19) in `pki` from source and in the agent bundle, against a real
 * `pki serve`: it renews when due, finishes a renewal under way when SIGTERM comes and exits 0
 * with a whole pair, and backs off when the CA cannot be reached (and still stops at once).
 */
const work = tempDir('pki-daemon-');
const ca = useServedCa(work);
let bundle: string;
beforeAll(async () => {
  bundle = (await agentArtifacts()).bundle;
}, 120_000);

const lines = (text: string) => text.split('\n').filter(Boolean);

/** A daemon child: its output so far, a wait for a condition on it, and its exit. */
function startDaemon(argv: string[]) {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: work, env: { PATH: process.env.PATH, HOME: work }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const until = async (ok: () => boolean, what: string, ms = 20_000) => {
    for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() - t0 > ms || child.exitCode !== null) throw new Error(`no ${what}; stdout: ${stdout}; stderr: ${stderr}`);
    }
  };
  return { child, exited, until, out: () => ({ stdout, stderr }) };
}

const KINDS = [
  { kind: 'pki renew --daemon (from source)', argv: () => [process.execPath, PKI_BIN] },
  { kind: 'pki-agent renew --daemon (bundle)', argv: () => [process.execPath, bundle] },
];

for (const [i, k] of KINDS.entries()) {
  describe(k.kind, () => {
    const out = join(work, `id-${i}`);
    const log = join(work, `hook-${i}.log`);

    it('ok/renews when due; SIGTERM while a renewal (its hook) runs: it finishes, exit 0, key and certificate match', async () => {
      const e = await runAgent([...k.argv(), 'enroll', '--server', ca.directoryUrl, '--root', ca.rootFile, '--ip', '127.0.0.1', '--out', out, '--http-port', String(ca.http01Port)], { cwd: work, env: { PATH: process.env.PATH, HOME: work } });
      expect(e.status, e.stderr).toBe(0);
      // 99.99%: due once 0.01% of the lifetime has passed, which the 1-minute backdating already has: every round renews.
      const hook = `echo start >> ${log}; sleep 1; echo end >> ${log}`;
      const d = startDaemon([...k.argv(), 'renew', '--out', out, '--daemon', '--check-every', '1s', '--renew-before', '99.99%', '--json', '--exec', hook]);
      const hookLines = () => (existsSync(log) ? lines(readFileSync(log, 'utf8')) : []);
      await d.until(() => lines(d.out().stdout).length >= 1 && hookLines().filter((l) => l === 'start').length >= 2, 'second renewal');
      await d.until(() => hookLines().at(-1) === 'start', 'a hook under way');
      d.child.kill('SIGTERM');
      expect(await d.exited, d.out().stderr).toBe(0);
      expect(hookLines().at(-1)).toBe('end'); // the renewal under way was finished
      const events = lines(d.out().stdout).map((l) => JSON.parse(l) as { action: string; serial: string });
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(new Set(events.map((x) => x.action))).toEqual(new Set(['renewed']));
      const cert = new X509Certificate(readFileSync(join(out, 'cert.pem')));
      expect(cert.serialNumber.toLowerCase()).toBe(events.at(-1)!.serial);
      expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'key.pem'))))).toBe(true);
      expect(existsSync(join(out, '.lock'))).toBe(false);
      expect(d.out().stderr).toMatch(/SIGTERM: stopping/);
    });

    it('fail/a CA that cannot be reached: "retrying in ~30s" on stderr, the pair untouched, and SIGTERM during the wait exits 0 at once', async () => {
      const broken = join(work, `broken-${i}`);
      cpSync(out, broken, { recursive: true, verbatimSymlinks: true });
      const state = JSON.parse(readFileSync(join(broken, 'state.json'), 'utf8')) as { server: string };
      writeFileSync(join(broken, 'state.json'), JSON.stringify({ ...state, server: state.server.replace(/:\d+\//, ':1/') }));
      const before = readFileSync(join(broken, 'cert.pem'));
      const d = startDaemon([...k.argv(), 'renew', '--out', broken, '--daemon', '--renew-before', '99.99%']);
      await d.until(() => /retrying in/.test(d.out().stderr), 'failure line');
      expect(d.out().stderr).toMatch(/^pki: renew failed: .+; retrying in (2[7-9]|3[0-3])s$/m);
      const t0 = Date.now();
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(readFileSync(join(broken, 'cert.pem'))).toEqual(before);
    });

    it('fail/--daemon on a directory with no enrollment exits 1 at once; --force with --daemon, or a bad --check-every, is refused with exit 1', async () => {
      const r = await runAgent([...k.argv(), 'renew', '--out', join(work, 'nothing'), '--daemon'], { cwd: work, env: { PATH: process.env.PATH, HOME: work } });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/holds no enrollment/);
      const f = await runAgent([...k.argv(), 'renew', '--out', out, '--daemon', '--force'], { cwd: work, env: { PATH: process.env.PATH, HOME: work } });
      expect(f.status).toBe(1);
      expect(f.stderr).toMatch(/--force renews once/);
      for (const bad of ['bogus', '0s', '500ms']) {
        const c = await runAgent([...k.argv(), 'renew', '--out', out, '--daemon', '--check-every', bad], { cwd: work, env: { PATH: process.env.PATH, HOME: work } });
        expect(c.status, bad).toBe(1);
        expect(c.stderr).toContain(`invalid --check-every "${bad}"`);
      }
    });
  });
}
