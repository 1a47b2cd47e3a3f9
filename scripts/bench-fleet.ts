/**
 * scripts/bench-fleet.ts: `pki serve` with N live certificates (#21), for each N and each tree
 * (A/B: this tree against another checkout, e.g. main's), in one run:
 *   start-up to /readyz 200, RSS of the primary and of each OCSP worker (idle and after load),
 *   OCSP req/s and p99 over a uniform random mix of all serials and over a hot set (wrk with a
 *   Lua script picking random pre-built GET requests), `pki revoke` wall time while wrk runs, and
 *   revocation → OCSP "revoked" and → CRL listing latency; plus this tree's issuance CPU at N.
 *
 *   node --import tsx scripts/bench-fleet.ts [--sizes 0,100000,1000000] [--trees .,/work/wt-21-base]
 *        [--cache /tmp/bench-fleet] [--workers 1] [--seconds 10] [--connections 64] [--mix 50000]
 *        [--settle 0] (seconds to wait at most for start()'s consistency scan to finish before measuring)
 *        [--rates 10000,20000,30000] (latency at an offered load: see `paced` below)
 *
 * Seeding (scripts/bench-fleet-seed.ts: real signatures, batched straight into the store) is done
 * once per size into --cache and reused by every tree and later runs. Each tree opens the same
 * database: migrations another tree does not know (013 here) are dropped before it runs and the
 * next tree applies its own again, outside the timed start-up.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import Database from 'better-sqlite3';
import { initInstance, openInstance } from '../src/index.ts';
import { freePort } from '../test/helpers/ports.ts';
import { ocspRequestDer } from '../test/helpers/ocsp-request.ts';
import { serialContents } from '../src/domain/der.ts';
import { liveCount, seedFleet } from './bench-fleet-seed.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const SIZES = arg('sizes', '0,100000,1000000').split(',').map(Number);
const TREES = arg('trees', '.').split(',').map((t) => resolve(t));
const CACHE = resolve(arg('cache', '/tmp/bench-fleet'));
const WORKERS = Number(arg('workers', '1'));
const SECONDS = Number(arg('seconds', '10'));
const CONNECTIONS = Number(arg('connections', '64'));
const PASSPHRASE = 'fleet-passphrase';
const env = { ...process.env, PKI_PASSPHRASE: PASSPHRASE };
const HOT = 1000;
const MIX = Number(arg('mix', '50000'));
const SETTLE = Number(arg('settle', '0'));
const RATES = arg('rates', '').split(',').filter(Boolean).map(Number);
/** A paced connection's pause between its answer and its next request (wrk's delay(), whole ms). */
const PACE_MS = 2;

/** The instance for size n: seeded once (the 1M one grows from a copy of the 100k one when both are asked for). */
async function instanceFor(n: number): Promise<string> {
  const dir = `${CACHE}/n${n}`;
  if (!existsSync(`${dir}/pki.json`)) {
    const smaller = SIZES.filter((s) => s < n && s > 0 && existsSync(`${CACHE}/n${s}/pki.json`)).at(-1);
    if (smaller) cpSync(`${CACHE}/n${smaller}`, dir, { recursive: true });
    else await initInstance({ dir, passphrase: PASSPHRASE, baseUrl: 'http://127.0.0.1:9080' });
  }
  const ca = await openInstance({ dir, env });
  try {
    if (liveCount(ca) < n) {
      const t0 = performance.now();
      await seedFleet(ca, n, (k) => k % 100_000 === 0 && process.stderr.write(`seeded ${k} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`));
    }
    ca.store.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    await ca.close();
  }
  return dir;
}

/** Drops schema this tree does not know (its migrations directory decides), so it opens the shared database. */
function fitSchema(tree: string, dir: string): void {
  const known = new Set(execFileSync('ls', [`${tree}/src/store/migrations`], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => Number(f.slice(0, 3))));
  const db = new Database(`${dir}/pki.db`);
  try {
    // #22's leases and rate buckets (014): empty here, taken out for a tree from before them.
    if (!known.has(14)) db.exec('DROP TABLE IF EXISTS leases; DROP TABLE IF EXISTS rate_buckets; DELETE FROM schema_migrations WHERE version >= 14;');
    if (!known.has(13)) db.exec('DROP INDEX IF EXISTS certificates_inventory; DROP INDEX IF EXISTS audit_events_by_target; DELETE FROM schema_migrations WHERE version = 13;');
    // A tree that knows 013 gets it here, so its index build is not counted in the timed start-up.
    else if (!db.prepare('SELECT 1 FROM schema_migrations WHERE version = 13').get()) {
      db.exec(readFileSync(`${tree}/src/store/migrations/013_certificates_inventory.sql`, 'utf8'));
      db.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (13, 'certificates_inventory', ?)`).run(Date.now());
    }
  } finally {
    db.close();
  }
}

/**
 * GET paths of nonce-less one-CertID requests. A request's DER ends with the serial's INTEGER
 * contents, and requests differ only there, so one encoded request per serial length is reused
 * as a prefix (building each with the ASN.1 library took minutes for a million serials).
 */
function requestPaths(issuerDer: Uint8Array): (serial: string) => string {
  const prefixes = new Map<number, Buffer>();
  return (serial) => {
    const contents = Buffer.from(serialContents(serial));
    let prefix = prefixes.get(contents.length);
    if (!prefix) {
      const der = Buffer.from(ocspRequestDer(issuerDer, [serial]));
      if (!der.subarray(der.length - contents.length).equals(contents)) throw new Error('request DER does not end with the serial');
      prefix = der.subarray(0, der.length - contents.length);
      prefixes.set(contents.length, prefix);
    }
    return `/ocsp/${encodeURIComponent(Buffer.concat([prefix, contents]).toString('base64'))}`;
  };
}

const rssMiB = (pid: number) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024);
const childrenOf = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
/** utime + stime of a process, every thread, in ms (USER_HZ is 100 on Linux). */
const cpuMsOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).reduce((a, t) => a + Number(t) * 10, 0);
const memory = (pid: number) => ({ primaryMiB: rssMiB(pid), workersMiB: childrenOf(pid).map(rssMiB) });

/**
 * wrk over the GET paths in `file`, each request a random line; no probe connection (wrk.resolve
 * without connect). Every request is formatted once at load: formatting a new one per request
 * (a new Lua string each time, interned by LuaJIT) stalled wrk itself for up to ~400 ms over a
 * million distinct paths, which wrk then counted as server latency. They are formatted in init(),
 * which runs once the thread knows the target: at the script's top level wrk.format has no Host
 * header yet, and Node answers such a request 400 and closes the connection (an earlier version
 * of this script measured exactly that). A run with any non-2xx answer or socket error fails the
 * bench. Flat out with --connections by default; `paced`: each connection waits PACE_MS after an
 * answer before its next request, so the offered load is about
 * connections × 1000 / (PACE_MS + latency) req/s. Flat out, latency on 2 shared cores is mostly
 * the wait for a core (the server's processes and wrk's threads take turns); paced below
 * capacity, it is the server's own.
 */
function wrk(base: string, file: string, seconds = SECONDS, paced?: { connections: number }): Promise<{ rps: number; p50ms: number; p99ms: number; p999ms: number; errors: string }> {
  const lua = `${file}${paced ? '.paced' : ''}.lua`;
  writeFileSync(
    lua,
    `wrk.resolve = function(host, service) wrk.addrs = wrk.lookup(host, service) end
local reqs, n = {}, 0
init = function(args)
  for line in io.lines("${file}") do reqs[#reqs + 1] = wrk.format("GET", line) end
  n = #reqs
  math.randomseed(os.time())
end
request = function() return reqs[math.random(n)] end
${paced ? `delay = function() return ${PACE_MS} end\n` : ''}done = function(summary, latency, requests)
  io.write(string.format("percentiles-us %d %d %d\\n", latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
`,
  );
  return new Promise((done) => {
    const w = spawn('wrk', ['-t2', `-c${paced?.connections ?? CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', lua, base], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    w.stdout!.on('data', (d: Buffer) => (out += d));
    w.on('close', () => {
      // From the script's done(): wrk's own table has no 99.9th.
      const [p50, p99, p999] = (/percentiles-us (\d+) (\d+) (\d+)/.exec(out)?.slice(1) ?? []).map((us) => Number(us) / 1000);
      const errors = /Non-2xx or 3xx responses: \d+|Socket errors:.*/.exec(out)?.[0] ?? 'none';
      // A rate of error answers is no OCSP rate: say so and fail the whole run.
      if (errors !== 'none') {
        process.stderr.write(`wrk ${lua}: ${errors}\n`);
        process.exitCode = 1;
      }
      done({ rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50ms: p50 ?? NaN, p99ms: p99 ?? NaN, p999ms: p999 ?? NaN, errors });
    });
  });
}

/** Latency over the uniform mix at each offered rate (--rates): connections sized for the rate at PACE_MS + ~0.3 ms a round trip. */
async function pacedRuns(base: string, file: string) {
  const runs = [];
  for (const rate of RATES) {
    const connections = Math.max(2, Math.round((rate * (PACE_MS + 0.3)) / 1000));
    runs.push({ offered: rate, connections, ...(await wrk(base, file, SECONDS, { connections })) });
  }
  return runs;
}

async function until(what: string, check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await check().catch(() => false))) {
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Math.round(performance.now() - t0);
}

function statusOf(der: Uint8Array): string {
  const r = AsnConvert.parse(der, ocsp.OCSPResponse);
  const s = AsnConvert.parse(r.responseBytes!.response, ocsp.BasicOCSPResponse).tbsResponseData.responses[0]!.certStatus;
  return s.good !== undefined ? 'good' : s.revoked ? 'revoked' : 'unknown';
}

async function runOne(tree: string, n: number, dir: string, files: { mix: string; hot: string; victims: string[]; issuerKeyId: string; getPath: (s: string) => string }) {
  fitSchema(tree, dir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [`${tree}/bin/pki.js`, 'serve', '--dir', dir, '--host', '127.0.0.1', '--http-port', String(port), '--no-acme', '--ocsp-workers', String(WORKERS)], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  // The log is read (and always drained): start()'s background consistency scan says when it is done.
  let scanned: (ms: number) => void = () => {};
  const scan = new Promise<number>((r) => (scanned = r));
  child.stdout!.on('data', (d: Buffer) => {
    const m = /"event":"ocsp\.reconciled"[^\n]*"ms":(\d+)/.exec(d.toString());
    if (m) scanned(Number(m[1]));
  });
  try {
    // Start-up to the first OCSP answer (#21: listening does not wait for the log's start check) and to /readyz 200.
    const firstOcsp = readFileSync(files.hot, 'utf8').split('\n')[0]!;
    // With the process's CPU (every thread) at each point: on a box others load, wall time says little.
    const answering = until('first OCSP answer', async () => (await fetch(base + firstOcsp, { signal: AbortSignal.timeout(1000) })).status === 200, 120_000).then(() => ({ ms: Math.round(performance.now() - t0), cpuMs: cpuMsOf(child.pid!) }));
    await until('readyz', async () => (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) })).ok, 120_000);
    const startup = Math.round(performance.now() - t0);
    const startupCpuMs = cpuMsOf(child.pid!);
    const { ms: answeringMs, cpuMs: answeringCpuMs } = await answering;
    // Steady state: after the scan (a tree that does not log it: after --settle seconds at most), else 2 s.
    const scanMs = SETTLE > 0 ? await Promise.race([scan, new Promise<null>((r) => setTimeout(r, SETTLE * 1000, null))]) : null;
    await new Promise((r) => setTimeout(r, 2000));
    const idle = memory(child.pid!);
    const hot = await wrk(base, files.hot);
    const mix = await wrk(base, files.mix);
    const paced = await pacedRuns(base, files.mix);
    const loaded = memory(child.pid!);
    // `pki revoke` (this tree's) while the server is busy with the random mix, then how soon both sources say so.
    const victim = files.victims[TREES.indexOf(tree)]!;
    const busy = wrk(base, files.mix, 4);
    await new Promise((r) => setTimeout(r, 1000));
    const r0 = performance.now();
    execFileSync(process.execPath, [`${tree}/bin/pki.js`, 'revoke', '--dir', dir, '--serial', victim], { env, stdio: 'ignore' });
    const revokeMs = Math.round(performance.now() - r0);
    const ocspMs = await until('ocsp revoked', async () => statusOf(new Uint8Array(await (await fetch(base + files.getPath(victim), { signal: AbortSignal.timeout(1000) })).arrayBuffer())) === 'revoked', 30_000);
    const serialHex = Buffer.from(victim, 'hex');
    const crlMs = await until('crl listed', async () => Buffer.from(await (await fetch(`${base}/crl/${files.issuerKeyId}/0.crl`, { signal: AbortSignal.timeout(1000) })).arrayBuffer()).includes(serialHex), 30_000);
    await busy;
    return { tree, n, answeringMs, answeringCpuMs, startupMs: startup, startupCpuMs, scanMs, idle, loaded, hot, mix, paced, revokeMs, revokedToOcspMs: ocspMs, revokedToCrlMs: crlMs };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}

const results: Awaited<ReturnType<typeof runOne>>[] = [];
const issuance: Record<number, number> = {};
for (const n of SIZES) {
  const dir = await instanceFor(n);
  const ca = await openInstance({ dir, env });
  const issuerDer = new Uint8Array(ca.authority.issuer.certificate.rawData);
  const getPath = requestPaths(issuerDer);
  const serials = (ca.store.db.prepare(`SELECT serial FROM certificates WHERE status = 'valid' AND profile = 'default' ORDER BY random() LIMIT ?`).all(MIX + TREES.length + 1) as { serial: string }[]).map((r) => r.serial);
  const victims: string[] = [];
  // Issuance CPU at this size (this tree's authority): leaves are issued for the victims when there are too few.
  const { makeCsr } = await import('../test/helpers/ca.ts');
  const csr = (await makeCsr({ cn: 'v.example', sans: [{ type: 'dns', value: 'v.example' }] })).pem;
  const c0 = process.cpuUsage();
  for (let i = 0; i < 50; i++) {
    const leaf = await ca.authority.issue(csr);
    if (i < TREES.length) victims.push(leaf.serial);
  }
  const c = process.cpuUsage(c0);
  issuance[n] = (c.user + c.system) / 1000 / 50;
  const issuerKeyId = ca.authority.issuer.keyId;
  await ca.close();
  const pool = serials.length > 0 ? serials : victims;
  const mixFile = `${CACHE}/mix-${n}.txt`;
  const hotFile = `${CACHE}/hot-${n}.txt`;
  writeFileSync(mixFile, pool.slice(0, MIX).map(getPath).join('\n') + '\n');
  writeFileSync(hotFile, pool.slice(0, HOT).map(getPath).join('\n') + '\n');
  for (const tree of TREES) {
    const r = await runOne(tree, n, dir, { mix: mixFile, hot: hotFile, victims, issuerKeyId, getPath });
    results.push(r);
    process.stderr.write(`${JSON.stringify(r)}\n`);
  }
}

const name = (t: string) => (t === resolve('.') ? 'this tree' : t);
const mem = (m: { primaryMiB: number; workersMiB: number[] }) => `${m.primaryMiB}${m.workersMiB.length ? ' / ' + m.workersMiB.join(', ') : ''}`;
const lines = [
  `| live certs | tree | start-up to first OCSP answer | start-up to ready | RSS idle MiB (primary / workers) | RSS after load | OCSP hot ${HOT} req/s (p99 ms) | OCSP uniform random req/s (p99 ms) | pki revoke wall ms (busy) | revoked → OCSP ms | → CRL ms |`,
  `|---|---|---|---|---|---|---|---|---|---|---|`,
  ...results.map((r) => `| ${r.n.toLocaleString('en')} | ${name(r.tree)} | ${(r.answeringMs / 1000).toFixed(2)} s (CPU ${(r.answeringCpuMs / 1000).toFixed(2)} s) | ${(r.startupMs / 1000).toFixed(2)} s (CPU ${(r.startupCpuMs / 1000).toFixed(2)} s) | ${mem(r.idle)} | ${mem(r.loaded)} | ${r.hot.rps.toFixed(0)} (${r.hot.p99ms.toFixed(2)})${r.hot.errors === 'none' ? '' : ` ERRORS: ${r.hot.errors}`} | ${r.mix.rps.toFixed(0)} (${r.mix.p99ms.toFixed(2)})${r.mix.errors === 'none' ? '' : ` ERRORS: ${r.mix.errors}`} | ${r.revokeMs} | ${r.revokedToOcspMs} | ${r.revokedToCrlMs} |`),
  '',
  ...(RATES.length
    ? [
        '',
        `| live certs | tree | offered req/s (connections, ${PACE_MS} ms pause) | served req/s | p50 ms | p99 ms | p99.9 ms | errors |`,
        '|---|---|---|---|---|---|---|---|',
        ...results.flatMap((r) => r.paced.map((p) => `| ${r.n.toLocaleString('en')} | ${name(r.tree)} | ${p.offered} (${p.connections}) | ${p.rps.toFixed(0)} | ${p.p50ms.toFixed(2)} | ${p.p99ms.toFixed(2)} | ${p.p999ms.toFixed(2)} | ${p.errors} |`)),
        '',
      ]
    : []),
  `Issuance CPU (this tree's authority, 50 leaves): ${Object.entries(issuance).map(([n, ms]) => `${Number(n).toLocaleString('en')}: ${ms.toFixed(2)} ms`).join(', ')}. Workers: ${WORKERS}; wrk -t2 -c${CONNECTIONS} ${SECONDS} s; uniform mix = ${MIX.toLocaleString('en')} random serials of all live ones.`,
];
process.stdout.write(lines.join('\n') + '\n');
