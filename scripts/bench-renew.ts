/**
 * scripts/bench-renew: the server CPU of a renewal by the current certificate (EST simplereenroll
 * over mTLS, RFC 7030 §4.2.2) against that of a full ACME order (newOrder → http-01 validated for
 * real → finalize → download), against the same `pki serve` in the same run. CPU is the server
 * process's (/proc/PID/stat), divided by the operations measured after warm-up.
 *
 *   scripts/bench-renew [--orders 300] [--renewals 300] [--warmup 500] [--concurrency 4] [--acme-client-orders ORDERS]
 *   BENCH_PIN=1 scripts/bench-renew …   server on CPU 0, load generator on CPU 1
 *   BENCH_THREADS=1 scripts/bench-renew …   also each measured phase's server CPU per operation by thread (stderr)
 *
 * Each renewal is what a workload does: a new TLS connection presenting its current certificate
 * (a full handshake with a client certificate), a CSR for a new key, one certificate back. The
 * ACME orders run on keep-alive connections (as scripts/bench-acme does); an ACME client that runs
 * once a day opens its connection too, so the run also measures that connection alone (a handshake
 * without client certificate + GET directory) and the target ratio is renewal / (order + its
 * connection). For the same conditions the other way round it measures renewals on connections
 * already open. BENCH_MARKS=FILE records each phase's pid and CLOCK_MONOTONIC span for `perf`
 * (scripts/bench-renew-profile.ts splits such a record by phase and step).
 * Besides the lean generator (6 requests an order) the same orders are made by npm acme-client with
 * its default settings (scripts/bench-acme-client-run.ts), as real clients send them; the exit
 * code stays the lean-client ratio's, the stricter one. Every kind of work is warmed up `--warmup`
 * times before the first measurement (see the warm-ups below).
 */
import { webcrypto } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChallengeServer } from '../test/acme/support/challenge-server.ts';
import { startDnsServer } from '../test/acme/support/dns-server.ts';
import { freePort } from '../test/helpers/ports.ts';
import { x509 } from '../src/x509/x509.ts';
import { certificatesOfPkcs7 } from '../src/x509/pkcs7.ts';
import { toPem } from '../src/x509/x509.ts';
import { initBenchInstance } from './bench/workload.ts';
import { LeanAcmeClient } from './bench/lean-client.ts';
import { runAcmeClient } from './bench-acme-client-run.ts';
import { cpuMs, pinGenerator, startPki, threadCpuMs, type ServerUnderTest } from './bench/servers.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const ORDERS = Number(arg('orders', '300'));
const RENEWALS = Number(arg('renewals', '300'));
const WARMUP = Number(arg('warmup', '500'));
const CONCURRENCY = Number(arg('concurrency', '4'));
/** Orders by npm acme-client with its default settings (0: left out), after WARMUP warm-up ones. */
const AC_ORDERS = Number(arg('acme-client-orders', String(ORDERS)));

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A workload's key (PEM, for the TLS client) and a CSR for `name` with it (DER). */
async function keyedCsr(name: string): Promise<{ keyPem: string; csr: Uint8Array }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: '', keys, signingAlgorithm: ALG, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])] });
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { keyPem: `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64')}\n-----END PRIVATE KEY-----\n`, csr: new Uint8Array(csr.rawData) };
}

interface Workload {
  name: string;
  keyPem: string;
  certPem: string;
}

/**
 * One GET to `path` on a new connection: with the workload's pair, the mTLS handshake a renewal
 * pays; without, the handshake of an ACME client (no client certificate). With `agent` (keep-alive)
 * the connection stays open for what follows on it.
 */
async function getOnce(server: ServerUnderTest, path: string, o: { pair?: Workload; agent?: Agent } = {}): Promise<void> {
  const url = server.directoryUrl.replace(/\/acme\/directory$/, path);
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { agent: o.agent ?? false, ca: server.caPem, ...(o.pair ? { cert: o.pair.certPem, key: o.pair.keyPem } : {}) }, (r) => {
      r.resume();
      r.on('end', () => (r.statusCode === 200 ? resolve() : reject(new Error(`${path} answered ${r.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One simplereenroll: the workload's current pair in the handshake, a new key in the CSR; on its own connection, or on the one `agent` holds open. */
async function renewOnce(server: ServerUnderTest, w: Workload, agent?: Agent): Promise<Workload> {
  const next = await keyedCsr(w.name);
  const url = server.directoryUrl.replace(/\/acme\/directory$/, '/.well-known/est/simplereenroll');
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: agent ?? false, ca: server.caPem, cert: w.certPem, key: w.keyPem, headers: { 'Content-Type': 'application/pkcs10' } }, (r) => {
      if (agent && !req.reusedSocket) reject(new Error('the keep-alive connection was not reused'));
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.end(Buffer.from(next.csr).toString('base64'));
  });
  if (res.status !== 200) throw new Error(`simplereenroll answered ${res.status}: ${res.body}`);
  const der = certificatesOfPkcs7(new Uint8Array(Buffer.from(res.body.replace(/\s/g, ''), 'base64')))[0]!;
  return { name: w.name, keyPem: next.keyPem, certPem: toPem(der, 'CERTIFICATE') };
}

/** Runs `n` jobs `CONCURRENCY` at a time and returns the server CPU ms per job and the wall time. */
async function measured(server: ServerUnderTest, n: number, job: (i: number) => Promise<void>, phase = 'warm-up'): Promise<{ cpuMs: number; seconds: number }> {
  const cpu0 = cpuMs(server.pid).total;
  const threads0 = process.env.BENCH_THREADS ? threadCpuMs(server.pid) : null;
  const mono0 = process.hrtime.bigint();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await job(next++);
  }));
  // BENCH_MARKS=FILE: the server's pid and each phase's CLOCK_MONOTONIC span (ns), to cut a `perf record -k mono` of the run by phase.
  if (process.env.BENCH_MARKS) appendFileSync(process.env.BENCH_MARKS, JSON.stringify({ pid: server.pid, phase, from: String(mono0), to: String(process.hrtime.bigint()) }) + '\n');
  // BENCH_THREADS=1: each measured phase's server CPU per operation by thread (main, V8's platform workers, libuv's pool), on stderr.
  if (threads0 && phase !== 'warm-up') {
    const by = [...threadCpuMs(server.pid)].map(([t, ms]) => `${t} ${((ms - (threads0.get(t) ?? 0)) / n).toFixed(3)}`).filter((x) => !x.endsWith(' 0.000'));
    process.stderr.write(`${phase}: ${by.join(', ')}\n`);
  }
  return { cpuMs: (cpuMs(server.pid).total - cpu0) / n, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Renewals on connections already open (keep-alive), in batches of 50: each batch's connections are
 * opened (GET cacerts with the workload's pair) before its server CPU is read, so only the renewals count.
 */
async function renewalsOnOpenConnections(server: ServerUnderTest, workloads: Workload[], n: number): Promise<{ cpuMs: number; seconds: number }> {
  let cpu = 0;
  let seconds = 0;
  for (let from = 0; from < n; from += 50) {
    const ids = Array.from({ length: Math.min(50, n - from) }, (_, k) => from + k);
    const agents = ids.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
    await Promise.all(ids.map((i, k) => getOnce(server, '/.well-known/est/cacerts', { pair: workloads[i]!, agent: agents[k]! })));
    const r = await measured(server, ids.length, async (k) => void (workloads[ids[k]!] = await renewOnce(server, workloads[ids[k]!]!, agents[k]!)), 'renewals-keep-alive');
    cpu += r.cpuMs * ids.length;
    seconds += r.seconds;
    for (const a of agents) a.destroy();
  }
  return { cpuMs: cpu / n, seconds };
}

pinGenerator();
const work = mkdtempSync(join(tmpdir(), 'bench-renew-'));
const web = await startChallengeServer();
const dns = await startDnsServer();
const dir = join(work, 'ca');
await initBenchInstance(dir, 'bench-passphrase');
const server = await startPki({ dir, passphrase: 'bench-passphrase', acmePort: await freePort(), http01Port: web.port, dnsServer: dns.address });
const client = new LeanAcmeClient(server.caPem, CONCURRENCY);
try {
  await client.start(server.directoryUrl);
  // Workloads enrolled over ACME: the warm-up orders (their certificates are the warm-up renewals' and the measured renewals' starting points).
  const workloads: Workload[] = [];
  const enrollOne = async (name: string) => {
    const k = await keyedCsr(name);
    const chain = await client.order(name, Buffer.from(k.csr).toString('base64url'), web.set);
    workloads.push({ name, keyPem: k.keyPem, certPem: chain.slice(0, chain.indexOf('-----END CERTIFICATE-----') + 26) });
  };
  const need = Math.max(WARMUP, RENEWALS);
  // Every warm-up before any measurement: each measured phase then meets a server that has done every
  // kind of work (orders by both clients, renewals, handshakes with and without a client certificate)
  // WARMUP times, as a long-running server has. Measured right after its own warm-up, a phase paid
  // V8's compilation of code first optimized only after more calls than that (Node's TLS connection
  // path, called once per connection, is first optimized after ~1,000 connections): CPU a server
  // that runs for days pays once, not per renewal (docs/benchmarks.md "Renewal CPU (#18), fourth cut").
  await measured(server, need, (i) => enrollOne(`w${i}.bench.test`));
  const acmeClient = async (n: number, tag: string) => runAcmeClient({ directoryUrl: server.directoryUrl, caPem: server.caPem, orders: n, concurrency: CONCURRENCY, serve: web.set, tag });
  // The same order as a real client makes it (acme-client: a HEAD newNonce before each signed request, more POST-as-GETs).
  if (AC_ORDERS > 0) await measured(server, 1, () => acmeClient(WARMUP, 'warm').then(() => undefined));
  await measured(server, WARMUP, async (i) => void (workloads[i] = await renewOnce(server, workloads[i]!)));
  await measured(server, WARMUP, (i) => getOnce(server, '/.well-known/est/cacerts', { pair: workloads[i]! }));
  await measured(server, WARMUP, () => getOnce(server, '/acme/directory'));
  const orders = await measured(server, ORDERS, (i) => enrollOne(`o${i}.bench.test`), 'orders');
  const realOrders = AC_ORDERS > 0 ? await measured(server, 1, () => acmeClient(AC_ORDERS, 'measured').then(() => undefined), 'acme-client-orders') : null;
  if (realOrders) realOrders.cpuMs /= AC_ORDERS;
  const renewals = await measured(server, RENEWALS, async (i) => void (workloads[i] = await renewOnce(server, workloads[i]!)), 'renewals');
  const handshakes = await measured(server, RENEWALS, (i) => getOnce(server, '/.well-known/est/cacerts', { pair: workloads[i]! }), 'handshakes');
  const acmeConnections = await measured(server, ORDERS, () => getOnce(server, '/acme/directory'), 'acme-connections');
  const keptAlive = await renewalsOnOpenConnections(server, workloads, RENEWALS);
  // What a workload costs once a day either way: its own connection and what it sends on it (the issue's target), and both kept alive.
  const ratio = renewals.cpuMs / (orders.cpuMs + acmeConnections.cpuMs);
  const realRatio = realOrders ? renewals.cpuMs / (realOrders.cpuMs + acmeConnections.cpuMs) : null;
  const ratios = { asBefore: renewals.cpuMs / orders.cpuMs, keepAlive: keptAlive.cpuMs / orders.cpuMs };
  const lines = [
    '| operation | count | per second | server CPU ms each |',
    '|---|---|---|---|',
    `| ACME order (newOrder, http-01, finalize, download; keep-alive) | ${ORDERS} | ${(ORDERS / orders.seconds).toFixed(1)} | ${orders.cpuMs.toFixed(2)} |`,
    `| EST simplereenroll over mTLS (new connection each) | ${RENEWALS} | ${(RENEWALS / renewals.seconds).toFixed(1)} | ${renewals.cpuMs.toFixed(2)} |`,
    `| of it: mTLS handshake + GET cacerts (new connection each) | ${RENEWALS} | ${(RENEWALS / handshakes.seconds).toFixed(1)} | ${handshakes.cpuMs.toFixed(2)} |`,
    ...(realOrders ? [`| ACME order by npm acme-client, default settings (keep-alive) | ${AC_ORDERS} | ${(AC_ORDERS / realOrders.seconds).toFixed(1)} | ${realOrders.cpuMs.toFixed(2)} |`] : []),
    `| ACME client's connection: TLS handshake (no client certificate) + GET directory | ${ORDERS} | ${(ORDERS / acmeConnections.seconds).toFixed(1)} | ${acmeConnections.cpuMs.toFixed(2)} |`,
    `| EST simplereenroll on an open mTLS connection (keep-alive) | ${RENEWALS} | ${(RENEWALS / keptAlive.seconds).toFixed(1)} | ${keptAlive.cpuMs.toFixed(2)} |`,
    '',
    `Renewal / order server CPU, each with its own connection (a workload's daily cost; the target): ${ratio.toFixed(2)} against the lean client (target ≤ 0.33, the exit code's)` +
      (realRatio === null ? '.' : `, ${realRatio.toFixed(2)} against npm acme-client.`),
    `Renewal (new connection) / order (keep-alive), as measured before: ${ratios.asBefore.toFixed(2)}; both on open connections: ${ratios.keepAlive.toFixed(2)}.`,
    `Concurrency ${CONCURRENCY}; all warm-ups before any measurement: ${need} orders, ${AC_ORDERS > 0 ? `${WARMUP} by acme-client, ` : ''}${WARMUP} renewals, ${WARMUP} mTLS handshakes, ${WARMUP} ACME connections${process.env.BENCH_PIN ? '; server on CPU 0, generator on CPU 1 (BENCH_PIN)' : ''}.`,
    `At this cost one core renews ${Math.floor(86_400_000 / renewals.cpuMs).toLocaleString('en')} certificates a day.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.exitCode = ratio <= 1 / 3 ? 0 : 1;
} finally {
  client.close();
  await server.stop();
  await web.close();
  await dns.close();
  rmSync(work, { recursive: true, force: true });
}
