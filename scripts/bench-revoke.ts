/**
 * scripts/bench-revoke.ts: `pki revoke` wall time beside a busy `pki serve` (#21), A/B between
 * trees in the same minutes. For each round and each tree in turn: that tree's `pki serve`
 * (--no-acme, --ocsp-workers as given) on a small instance, wrk hammering OCSP with a random mix
 * of GET requests (no probe connection: wrk.resolve without connect), and after a second of load
 * `pki revoke` (that tree's) run --revokes times one after another, each on a fresh serial. Then
 * the same idle (server stopped). Reports p50/p95/max wall ms and p50 CPU ms of the revokes.
 *
 *   node --import tsx scripts/bench-revoke.ts [--trees .,/tmp/wt-main] [--rounds 3] [--revokes 5]
 *        [--certs 2000] [--workers 1] [--connections 64]
 *
 * Bounded: rounds × trees × (revokes + a few seconds of start-up); a minute or two with the defaults.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initInstance, openInstance } from '../src/index.ts';
import { makeCsr } from '../test/helpers/ca.ts';
import { ocspRequestDer } from '../test/helpers/ocsp-request.ts';
import { freePort } from '../test/helpers/ports.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const TREES = arg('trees', '.').split(',').map((t) => resolve(t));
const ROUNDS = Number(arg('rounds', '3'));
const REVOKES = Number(arg('revokes', '5'));
const CERTS = Number(arg('certs', '2000'));
const WORKERS = arg('workers', '1');
const CONNECTIONS = arg('connections', '64');
const PASSPHRASE = 'bench-revoke-passphrase';
const env = { ...process.env, PKI_PASSPHRASE: PASSPHRASE };

const work = mkdtempSync(join(tmpdir(), 'bench-revoke-'));
const dir = join(work, 'ca');
await initInstance({ dir, passphrase: PASSPHRASE });
const ca = await openInstance({ dir, env });
const csr = (await makeCsr({ cn: 'r.example', sans: [{ type: 'dns', value: 'r.example' }] })).pem;
const serials: string[] = [];
for (let i = 0; i < CERTS; i++) serials.push((await ca.authority.issue(csr)).serial);
const issuerDer = new Uint8Array(ca.authority.issuer.certificate.rawData);
await ca.close();
// The load asks about the first half; each revoke takes a fresh serial from the second half.
const mix = join(work, 'mix.txt');
writeFileSync(mix, serials.slice(0, CERTS / 2).map((s) => `/ocsp/${encodeURIComponent(Buffer.from(ocspRequestDer(issuerDer, [s])).toString('base64'))}`).join('\n') + '\n');
writeFileSync(
  `${mix}.lua`,
  `wrk.resolve = function(host, service) wrk.addrs = wrk.lookup(host, service) end
local paths = {}
for line in io.lines("${mix}") do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
`,
);
const victims = serials.slice(CERTS / 2);

/**
 * A tree from before migration 014 (#22's leases and rate buckets) refuses a database that has it:
 * it is taken out for such a tree (nothing is in those tables here); a newer tree applies it again
 * when it opens the database.
 */
function fitSchema(tree: string): void {
  if (existsSync(`${tree}/src/store/migrations/014_replicas.sql`)) return;
  const db = new Database(join(dir, 'pki.db'));
  try {
    db.exec('DROP TABLE IF EXISTS leases; DROP TABLE IF EXISTS rate_buckets; DELETE FROM schema_migrations WHERE version >= 14;');
  } finally {
    db.close();
  }
}

/** One `pki revoke` of this tree: wall ms (spawn to exit) and the CPU ms it used (GNU time). */
function revoke(tree: string): { wallMs: number; cpuMs: number } {
  const serial = victims.pop();
  if (!serial) throw new Error('out of serials: raise --certs');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, `${tree}/bin/pki.js`, 'revoke', '--dir', dir, '--serial', serial], { env, encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pki revoke (${tree}) failed: ${r.stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr)!;
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 };
}

async function until(check: () => Promise<boolean>, limitMs: number): Promise<void> {
  const t0 = performance.now();
  while (!(await check().catch(() => false))) {
    if (performance.now() - t0 > limitMs) throw new Error(`not ready within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The revokes of one tree beside its own busy server, and the OCSP req/s the server answered meanwhile. */
async function busyRound(tree: string) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  fitSchema(tree);
  const server: ChildProcess = spawn(process.execPath, [`${tree}/bin/pki.js`, 'serve', '--dir', dir, '--host', '127.0.0.1', '--http-port', String(port), '--no-acme', '--ocsp-workers', WORKERS], { env, stdio: 'ignore' });
  try {
    await until(async () => (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) })).ok, 60_000);
    // Stopped (SIGINT: wrk still prints its totals) once the revokes are done; 60 s is only the bound.
    const wrk = spawn('wrk', ['-t2', `-c${CONNECTIONS}`, '-d60s', '-s', `${mix}.lua`, base], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    wrk.stdout!.on('data', (d: Buffer) => (out += d));
    const done = new Promise((r) => wrk.once('close', r));
    await new Promise((r) => setTimeout(r, 1000));
    const runs = [];
    for (let i = 0; i < REVOKES; i++) runs.push(revoke(tree));
    wrk.kill('SIGINT');
    await done;
    return { runs, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN) };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('close', r));
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const busy = new Map<string, { wallMs: number; cpuMs: number }[]>(TREES.map((t) => [t, []]));
const idle = new Map<string, { wallMs: number; cpuMs: number }[]>(TREES.map((t) => [t, []]));
const rps = new Map<string, number[]>(TREES.map((t) => [t, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Trees alternate, and their order flips each round, so both see the same minutes of the box.
    for (const tree of round % 2 ? [...TREES].reverse() : TREES) {
      const r = await busyRound(tree);
      busy.get(tree)!.push(...r.runs);
      rps.get(tree)!.push(r.rps);
      for (let i = 0; i < 2; i++) idle.get(tree)!.push(revoke(tree));
      process.stderr.write(`round ${round + 1} ${tree}: busy ${r.runs.map((x) => Math.round(x.wallMs)).join(', ')} ms beside ${Math.round(r.rps)} OCSP req/s\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const name = (t: string) => (t === resolve('.') ? 'this tree' : t);
const commit = (t: string) => execFileSync('git', ['-C', t, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const row = (t: string, runs: { wallMs: number; cpuMs: number }[], load: string) => {
  const wall = runs.map((r) => r.wallMs);
  return `| ${name(t)} (${commit(t)}) | ${load} | ${runs.length} | ${Math.round(pct(wall, 50))} | ${Math.round(pct(wall, 95))} | ${Math.round(Math.max(...wall))} | ${Math.round(pct(runs.map((r) => r.cpuMs), 50))} |`;
};
process.stdout.write(
  [
    `pki revoke beside a busy pki serve: ${CERTS} certificates, --ocsp-workers ${WORKERS}, wrk -t2 -c${CONNECTIONS} random OCSP GETs, ${ROUNDS} rounds × ${REVOKES} revokes a tree`,
    '',
    '| tree | server | revokes | wall p50 ms | p95 ms | max ms | CPU p50 ms |',
    '|---|---|---|---|---|---|---|',
    ...TREES.flatMap((t) => [row(t, busy.get(t)!, `busy (${Math.round(pct(rps.get(t)!, 50))} OCSP req/s)`), row(t, idle.get(t)!, 'stopped')]),
  ].join('\n') + '\n',
);
