/**
 * scripts/bench-acme: N complete ACME orders (newOrder → http-01 validated for real
 * → finalize → download) at each concurrency, against `pki serve` and Pebble with
 * the same lean load generator in the same run. Reports orders/s, p50/p99 order
 * latency, the server's CPU per order (/proc/PID/stat), 5xx and badNonce counts.
 *
 *   scripts/bench-acme [--orders 1000] [--concurrency 1,8] [--warmup 3000] [--pebble-warmup 100] [--targets pki,pebble]
 *                      [--clients lean,acme-client] [--acme-client-orders 300]
 *                      [--replicas 1,2 --postgres postgres://postgres@127.0.0.1:PORT/postgres]
 *
 * `--replicas`: after the other targets, pki on PostgreSQL with 1, 2, … replicas behind a
 * round-robin balancer (a fresh database each; scripts/bench/replicas.ts), reporting the replicas'
 * CPU and PostgreSQL's own CPU per order beside SQLite's one process in the same run (#22).
 *
 * `acme-client`: after the lean generator's runs on each server, npm acme-client with its default
 * settings (what users run: a HEAD newNonce before every signed request, its own retries on 429
 * and badNonce) does --acme-client-orders orders at each concurrency against the same server (#21).
 *   BENCH_PIN=1 scripts/bench-acme …   server on CPU 0, load generator on CPU 1
 *
 * Each measured run follows warm-up orders on the same server. pki gets `--warmup`: V8 keeps
 * compiling its hot functions (on helper threads, counted in the server's CPU) for the first few
 * thousand orders, so short runs read 0.3–1 ms per order above the steady state a CA in service
 * runs at. Pebble (compiled Go) gets `--pebble-warmup`: it keeps every order in memory, and its
 * CPU per order grew over a long warm-up until requests stalled past the client's 15 s timeout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChallengeServer } from '../test/acme/support/challenge-server.ts';
import { startDnsServer } from '../test/acme/support/dns-server.ts';
import { freePort } from '../test/helpers/ports.ts';
import { initBenchInstance, makeCsrs } from './bench/workload.ts';
import { LeanAcmeClient } from './bench/lean-client.ts';
import { cpuMs, pinGenerator, startPebble, startPki, threadCpuMs, type ServerUnderTest } from './bench/servers.ts';
import { runAcmeClient, type AcmeClientResult } from './bench-acme-client-run.ts';
import { startPkiReplicas } from './bench/replicas.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const ORDERS = Number(arg('orders', '1000'));
const CONCURRENCY = arg('concurrency', '1,8').split(',').map(Number);
const TARGETS = arg('targets', 'pki,pebble').split(',');
const WARMUP = Number(arg('warmup', '3000'));
const PEBBLE_WARMUP = Number(arg('pebble-warmup', '100'));
const CLIENTS = arg('clients', 'lean,acme-client').split(',');
const AC_ORDERS = Number(arg('acme-client-orders', '300'));
const REPLICAS = arg('replicas', '').split(',').filter(Boolean).map(Number);
const POSTGRES = arg('postgres', process.env.PKI_TEST_POSTGRES_URL ?? '');
if (REPLICAS.length > 0 && !POSTGRES) throw new Error('--replicas needs --postgres ADMIN_URL (or PKI_TEST_POSTGRES_URL)');

interface Result {
  target: string;
  concurrency: number;
  orders: number;
  seconds: number;
  p50: number;
  p99: number;
  requestsPerOrder: number;
  cpuPerOrder: number;
  /** the kernel's share of cpuPerOrder (syscalls: fsync, socket writes) */
  systemCpuPerOrder: number;
  /** CPU of this process per order: the load generator with the http-01 responder and DNS server (it shares the box's cores with the server) */
  generatorCpuPerOrder: number;
  /** PostgreSQL's own CPU per order (replica targets) */
  dbCpuPerOrder: number | null;
  serverErrors: number;
  badNonce: number;
}

async function run(server: ServerUnderTest, concurrency: number, warmup: number, serve: (token: string, keyAuth: string) => void, tag: string): Promise<Result> {
  const client = new LeanAcmeClient(server.caPem, concurrency);
  try {
    return await measure(client, server, concurrency, warmup, serve, tag);
  } finally {
    client.close();
  }
}

async function measure(client: LeanAcmeClient, server: ServerUnderTest, concurrency: number, warmup: number, serve: (token: string, keyAuth: string) => void, tag: string): Promise<Result> {
  await client.start(server.directoryUrl);
  for (const w of await makeCsrs(warmup, `warm-${tag}-`)) await client.order(w.name, w.csr, serve);
  client.problems.clear();
  client.serverErrors = 0;
  client.requests = 0;
  const work = await makeCsrs(ORDERS, `o-${tag}-`);
  const latencies: number[] = [];
  const cpuOf = () => (server.cpu ? server.cpu() : cpuMs(server.pid));
  const cpu0 = cpuOf();
  const db0 = server.dbCpu?.() ?? 0;
  const threads0 = threadCpuMs(server.pid);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < work.length) {
        const w = work[next++]!;
        const s = performance.now();
        await client.order(w.name, w.csr, serve);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const gen = process.cpuUsage(gen0);
  const cpu1 = cpuOf();
  const dbCpuPerOrder = server.dbCpu ? (server.dbCpu() - db0) / ORDERS : null;
  // BENCH_THREADS=1: the server's CPU per order by thread name (main thread vs GC helpers, libuv pool, …).
  if (process.env.BENCH_THREADS) {
    const byThread = [...threadCpuMs(server.pid)].map(([name, ms]) => [name, ((ms - (threads0.get(name) ?? 0)) / ORDERS).toFixed(2)]);
    process.stderr.write(`${server.name} c=${concurrency} CPU ms/order by thread: ${JSON.stringify(Object.fromEntries(byThread))}\n`);
  }
  const cpu = cpu1.total - cpu0.total;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  const badNonce = [...client.problems].filter(([t]) => t.endsWith(':badNonce')).reduce((n, [, c]) => n + c, 0);
  return { target: server.name, concurrency, orders: ORDERS, seconds, p50: pct(50), p99: pct(99), requestsPerOrder: client.requests / ORDERS, cpuPerOrder: cpu / ORDERS, systemCpuPerOrder: (cpu1.system - cpu0.system) / ORDERS, generatorCpuPerOrder: (gen.user + gen.system) / 1000 / ORDERS, dbCpuPerOrder, serverErrors: client.serverErrors, badNonce };
}

pinGenerator();
const work = mkdtempSync(join(tmpdir(), 'bench-acme-'));
const web = await startChallengeServer();
const http01Port = web.port;
const dns = await startDnsServer();
const results: Result[] = [];
const realClient: (AcmeClientResult & { target: string; concurrency: number })[] = [];
/** A run that threw (e.g. a request past the client's timeout): reported after the table instead of losing the other runs. */
const failures: string[] = [];
try {
  for (const target of [...TARGETS, ...REPLICAS.map((n) => `pg-${n}`)]) {
    let server: ServerUnderTest;
    if (target.startsWith('pg-')) {
      server = await startPkiReplicas({ workDir: work, adminUrl: POSTGRES, replicas: Number(target.slice(3)), passphrase: 'bench-passphrase', http01Port, dnsServer: dns.address });
    } else if (target === 'pki') {
      const dir = join(work, 'ca');
      await initBenchInstance(dir, 'bench-passphrase');
      server = await startPki({ dir, passphrase: 'bench-passphrase', acmePort: await freePort(), http01Port, dnsServer: dns.address });
    } else {
      server = await startPebble({ workDir: work, port: await freePort(), http01Port, dnsServer: dns.address });
    }
    try {
      for (const c of CONCURRENCY) {
        try {
          if (CLIENTS.includes('lean')) {
            const r = await run(server, c, target === 'pebble' ? PEBBLE_WARMUP : WARMUP, web.set, `${target}-${c}`);
            results.push(r);
            process.stderr.write(`${JSON.stringify(r)}\n`);
          }
          if (CLIENTS.includes('acme-client')) {
            const r = { target, concurrency: c, ...(await runAcmeClient({ directoryUrl: server.directoryUrl, caPem: server.caPem, orders: AC_ORDERS, concurrency: c, serve: web.set, tag: `${target}-${c}` })) };
            realClient.push(r);
            process.stderr.write(`acme-client ${JSON.stringify(r)}\n`);
          }
        } catch (e) {
          // The server may be wedged: skip its other runs, keep the other targets'.
          failures.push(`${target} c=${c}: ${(e as Error).message}`);
          break;
        }
      }
    } finally {
      await server.stop();
    }
  }
} finally {
  await web.close();
  await dns.close();
  rmSync(work, { recursive: true, force: true });
}

const f = (n: number, d = 1) => n.toFixed(d);
const lines = [
  `| server | concurrency | orders | orders/s | p50 ms | p99 ms | requests/order | server CPU ms/order | of it kernel | PostgreSQL CPU ms/order | generator CPU ms/order | 5xx | badNonce |`,
  `|---|---|---|---|---|---|---|---|---|---|---|---|---|`,
  ...results.map((r) => `| ${r.target} | ${r.concurrency} | ${r.orders} | ${f(r.orders / r.seconds)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.requestsPerOrder)} | ${f(r.cpuPerOrder, 2)} | ${f(r.systemCpuPerOrder, 2)} | ${r.dbCpuPerOrder === null ? '–' : f(r.dbCpuPerOrder, 2)} | ${f(r.generatorCpuPerOrder, 2)} | ${r.serverErrors} | ${r.badNonce} |`),
];
if (realClient.length > 0) {
  lines.push(
    '',
    'npm acme-client, default settings (one account, `client.auto`, http-01):',
    '',
    '| server | concurrency | orders | orders/s | p50 ms | p99 ms | requests/order | 429 | 5xx |',
    '|---|---|---|---|---|---|---|---|---|',
    ...realClient.map((r) => `| ${r.target} | ${r.concurrency} | ${r.orders} | ${f(r.orders / r.seconds)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.requestsPerOrder)} | ${r.rateLimited} | ${r.serverErrors} |`),
  );
}
for (const failure of failures) lines.push('', `FAILED ${failure}`);
process.exitCode = failures.length > 0 ? 1 : 0;
process.stdout.write(`${lines.join('\n')}\n\nEach run after warm-up orders on the same server (pki ${WARMUP}, Pebble ${PEBBLE_WARMUP})${process.env.BENCH_PIN ? '; server on CPU 0, generator on CPU 1 (BENCH_PIN)' : ''}.\n`);
