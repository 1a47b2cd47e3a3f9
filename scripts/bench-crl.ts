/**
 * CRL build time and peak memory at scale (docs/benchmarks.md, "CRL").
 *
 *   npx tsx scripts/bench-crl.ts [--sizes 100000,1000000]
 *
 * For each size, in a fresh child process: a throwaway CA whose database holds that many
 * revoked certificates, then one real rebuild through CrlPublisher (SQLite read → direct
 * DER encoding → signature by the intermediate's Signer → stored). Reports the rebuild's
 * wall time, the CRL size and the process's peak RSS (getrusage maxrss).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initInstance, openInstance, silentLogger } from '../src/index.ts';
import { CrlPublisher } from '../src/status/crl-publisher.ts';
import { DEFAULT_STATUS_OPTIONS } from '../src/status/options.ts';

const PASSPHRASE = 'bench-passphrase-not-secret';
const args = process.argv.slice(2);

async function one(n: number): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-crl-'));
  try {
    const dir = join(work, 'ca');
    await initInstance({ dir, passphrase: PASSPHRASE });
    const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: PASSPHRASE } });
    const issuer = ca.authority.issuer;
    const now = Math.floor(Date.now() / 1000);
    const insert = ca.store.db.prepare(
      `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, revoked_at, reason, der, public_key_sha256, created_at)
       VALUES (?, ?, '', '[]', 'default', ?, ?, 'revoked', ?, ?, x'00', '', ?)`,
    );
    const t0 = performance.now();
    ca.store.db.pragma('synchronous = OFF'); // loading fixtures only; the rebuild below runs as in production
    ca.store.db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const serial = (0x40000000 + i).toString(16) + i.toString(16).padStart(24, '0');
        insert.run(serial, issuer.keyId, now - 3600, now + 86400, now - (i % 3600), i % 6, now);
      }
    })();
    ca.store.db.pragma('synchronous = FULL');
    const loadMs = performance.now() - t0;
    const rssBefore = process.memoryUsage().rss;
    const publisher = new CrlPublisher({ store: ca.store, authority: ca.authority, clock: ca.clock, logger: silentLogger, options: DEFAULT_STATUS_OPTIONS });
    const t1 = performance.now();
    const crl = await publisher.rebuild(0);
    const buildMs = performance.now() - t1;
    await ca.close();
    console.log(
      JSON.stringify({ entries: crl.entries, buildMs: Math.round(buildMs), crlBytes: crl.der.length, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), rssBeforeBuildMiB: Math.round(rssBefore / 2 ** 20), fixtureLoadMs: Math.round(loadMs) }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (args[0] === '--one') {
  await one(Number(args[1]));
} else {
  const i = args.indexOf('--sizes');
  const sizes = (i >= 0 ? args[i + 1]! : '100000,1000000').split(',').map(Number);
  const self = fileURLToPath(import.meta.url);
  console.log('| revoked entries | build (read + encode + sign + store) | CRL size | peak RSS |');
  console.log('|---:|---:|---:|---:|');
  for (const n of sizes) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--one', String(n)], { encoding: 'utf8', timeout: 600_000 });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`size ${n} failed: ${r.stderr}`);
    const j = JSON.parse(line) as { entries: number; buildMs: number; crlBytes: number; peakRssMiB: number };
    console.log(`| ${j.entries.toLocaleString('en-US')} | ${(j.buildMs / 1000).toFixed(2)} s | ${(j.crlBytes / 2 ** 20).toFixed(1)} MiB | ${j.peakRssMiB} MiB |`);
  }
}
