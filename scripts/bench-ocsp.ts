/**
 * OCSP throughput, side by side with `openssl ocsp` serving the same CA (docs/benchmarks.md, "OCSP").
 *
 *   npx tsx scripts/bench-ocsp.ts [--duration 10s] [--connections 32] [--ocsp-workers N]
 *
 * Makes a throwaway CA and one leaf, starts `pki serve` (its own process) and, for each
 * measurement, a fresh `openssl ocsp -index … -multi 2` inside its own network namespace
 * (`unshare -n`: it binds every interface, and it busy-loops after dropped connections).
 * wrk (-t2 -c32 --latency, bounded in time) asks for the leaf's status by GET and by POST,
 * the same request bytes for both servers. With `--ocsp-workers N`, a second `pki serve
 * --ocsp-workers N` (N worker processes sharing its port) is measured in the same run too.
 * Loopback only.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../test/helpers/ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initInstance, openInstance } from '../src/index.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const DURATION = opt('duration', '10s');
const CONNECTIONS = opt('connections', '32');
const OCSP_WORKERS = Number(opt('ocsp-workers', '0'));
const PASSPHRASE = 'bench-passphrase-not-secret';
const PKI_BIN = fileURLToPath(new URL('../bin/pki.js', import.meta.url));

for (const tool of ['wrk', 'openssl', 'unshare', 'ip']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is required`);
}

const work = mkdtempSync(join(tmpdir(), 'bench-ocsp-'));
const dir = join(work, 'ca');
const sh = (cmd: string, a: string[], input?: string) => execFileSync(cmd, a, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });

/** A node:http server answering every request with a fixed body (argv: port, body size). */
const BARE_SERVER = `const http = require("node:http"); const body = Buffer.alloc(Number(process.argv[2]), 1);
http.createServer((q, s) => { const end = () => { s.writeHead(200, ["Content-Type", "application/ocsp-response", "Content-Length", String(body.length)]); s.end(body); };
if (q.method === "POST") { q.on("data", () => {}); q.on("end", end); } else end(); }).listen(Number(process.argv[1]), "127.0.0.1");`;

interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: string;
}

function parseWrk(out: string): WrkResult {
  const ms = (v: string, unit: string) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const errs = /(Socket errors:.*|Non-2xx or 3xx responses: \d+)/g;
  return { rps, p50ms: p50 ? ms(p50[1]!, p50[2]!) : NaN, p99ms: p99 ? ms(p99[1]!, p99[2]!) : NaN, errors: [...out.matchAll(errs)].map((m) => m[0]).join('; ') || 'none' };
}

/** wrk's default resolve connects once to each address (a probe connection) before the run; this one does not. */
const NO_PROBE = 'wrk.resolve = function(host, service) wrk.addrs = wrk.lookup(host, service) end\n';

function wrkArgs(url: string, post: boolean): string[] {
  // Every run (openssl's included) skips wrk's probe connection: `openssl ocsp -multi` spins on it
  // (13k req/s with it, 19-21k without, #21), so the default wrk.resolve undercounted openssl.
  return ['-t2', `-c${CONNECTIONS}`, `-d${DURATION}`, '--latency', '-s', join(work, post ? 'post.lua' : 'get.lua'), url];
}

async function main(): Promise<void> {
  // A CA with one leaf, issued through the library (the same code `pki issue` runs).
  await initInstance({ dir, passphrase: PASSPHRASE, baseUrl: 'http://127.0.0.1:9080' });
  const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: PASSPHRASE } });
  sh('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(work, 'leaf.key'), '-subj', '/CN=bench.example', '-addext', 'subjectAltName=DNS:bench.example', '-out', join(work, 'leaf.csr')]);
  const leaf = await ca.authority.issue(readFileSync(join(work, 'leaf.csr'), 'utf8'));
  await ca.close();
  writeFileSync(join(work, 'leaf.pem'), leaf.pem);
  const intermediatePem = join(dir, 'ca/intermediate.pem');

  // The same request bytes for every server.
  sh('openssl', ['ocsp', '-issuer', intermediatePem, '-cert', join(work, 'leaf.pem'), '-no_nonce', '-reqout', join(work, 'req.der')]);
  const req = readFileSync(join(work, 'req.der'));
  const getPath = `/ocsp/${encodeURIComponent(req.toString('base64'))}`;
  writeFileSync(
    join(work, 'post.lua'),
    `${NO_PROBE}local f = io.open("${join(work, 'req.der')}", "rb")\nwrk.method = "POST"\nwrk.body = f:read("*all")\nf:close()\nwrk.headers["Content-Type"] = "application/ocsp-request"\n`,
  );

  writeFileSync(join(work, 'get.lua'), NO_PROBE);

  // openssl's responder: an index with the leaf, signing with the intermediate key (decrypted into the temp dir).
  const key = createPrivateKey({ key: readFileSync(join(dir, 'keys/intermediate.key.pem'), 'utf8'), passphrase: PASSPHRASE });
  writeFileSync(join(work, 'intermediate.key'), key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const exp = leaf.notAfter.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  writeFileSync(join(work, 'index.txt'), `V\t${exp}\t\t${leaf.serial.toUpperCase()}\tunknown\t/CN=bench.example\n`);

  // pki serve, in its own process (and, with --ocsp-workers, a second one with its worker processes).
  const started: { name: string; base: string; child: ReturnType<typeof spawn> }[] = [];
  const startPki = async (name: string, extra: string[]) => {
    const port = await freePort();
    const child = spawn(process.execPath, [PKI_BIN, 'serve', '--dir', dir, '--http-port', String(port), '--no-acme', ...extra], {
      env: { ...process.env, PKI_PASSPHRASE: PASSPHRASE },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    started.push({ name, base: `http://127.0.0.1:${port}`, child });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('serve.started')) resolve();
      });
      child.once('exit', (c) => reject(new Error(`pki serve exited with ${c}: ${out}`)));
    });
    child.stdout!.resume();
    const base = `http://127.0.0.1:${port}`;
    // Sanity: openssl accepts our answer.
    const check = sh('openssl', ['ocsp', '-issuer', intermediatePem, '-cert', join(work, 'leaf.pem'), '-url', `${base}/ocsp`, '-CAfile', join(dir, 'ca/root.pem'), '-no_nonce']);
    if (!/: good/.test(check)) throw new Error(`${name} did not answer good: ${check}`);
  };
  await startPki('pki serve', []);
  if (OCSP_WORKERS > 0) await startPki(`pki serve --ocsp-workers ${OCSP_WORKERS}`, ['--ocsp-workers', String(OCSP_WORKERS)]);
  const responseBytes = (await (await fetch(started[0]!.base + getPath)).arrayBuffer()).byteLength;
  const barePort = await freePort();

  const rows: { server: string; method: string; r: WrkResult }[] = [];
  try {
    for (const method of ['GET', 'POST'] as const) {
      // Fresh openssl per measurement, alone in a network namespace with wrk (both die with it).
      const osslPort = 8888;
      const inner = [
        'ip link set lo up',
        `openssl ocsp -index ${join(work, 'index.txt')} -port ${osslPort} -rsigner ${intermediatePem} -rkey ${join(work, 'intermediate.key')} -CA ${intermediatePem} -multi 2 -ignore_err >/dev/null 2>&1 &`,
        'sleep 1',
        `openssl ocsp -issuer ${intermediatePem} -cert ${join(work, 'leaf.pem')} -url http://127.0.0.1:${osslPort} -CAfile ${join(dir, 'ca/root.pem')} -no_nonce >&2`,
        `wrk ${wrkArgs(`http://127.0.0.1:${osslPort}${method === 'GET' ? getPath.replace(/^\/ocsp/, '') : '/'}`, method === 'POST').join(' ')}`,
      ].join('\n');
      const ossl = spawnSync('unshare', ['-n', '-p', '-f', '--kill-child', 'sh', '-c', inner], { encoding: 'utf8', timeout: 120_000 });
      if (!/: good/.test(ossl.stderr)) throw new Error(`openssl responder did not answer good: ${ossl.stderr}`);
      rows.push({ server: 'openssl ocsp -multi 2', method, r: parseWrk(ossl.stdout) });

      // A 2 s warm-up first, so JIT compilation is not counted in the tail latency.
      for (const { name, base } of started) {
        const oursArgs = wrkArgs(`${base}${method === 'GET' ? getPath : '/ocsp'}`, method === 'POST');
        spawnSync('wrk', oursArgs.map((a) => (a === `-d${DURATION}` ? '-d2s' : a)), { encoding: 'utf8', timeout: 60_000 });
        const ours = spawnSync('wrk', oursArgs, { encoding: 'utf8', timeout: 120_000 });
        rows.push({ server: name, method, r: parseWrk(ours.stdout) });
      }

      // The box's ceiling in this same run: a bare node:http server sending a fixed body of the same size.
      const bare = spawnSync('sh', ['-c', `node -e '${BARE_SERVER.replace(/'/g, "'\\''")}' ${barePort} ${responseBytes} & p=$!; sleep 0.5; wrk -t2 -c${CONNECTIONS} -d2s http://127.0.0.1:${barePort}/ >/dev/null; wrk ${wrkArgs(`http://127.0.0.1:${barePort}${method === 'GET' ? getPath : '/ocsp'}`, method === 'POST').join(' ')}; kill $p`], { encoding: 'utf8', timeout: 120_000 });
      rows.push({ server: 'bare node:http (ceiling)', method, r: parseWrk(bare.stdout) });
    }
  } finally {
    for (const { child } of started) child.kill('SIGTERM');
  }

  console.log(`\nwrk -t2 -c${CONNECTIONS} -d${DURATION} --latency, loopback, ${new Date().toISOString()}\n`);
  console.log('| server | method | req/s | p50 | p99 | errors |');
  console.log('|---|---|---:|---:|---:|---|');
  for (const { server: s, method, r } of rows) console.log(`| ${s} | ${method} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50ms.toFixed(2)} ms | ${r.p99ms.toFixed(2)} ms | ${r.errors} |`);
  for (const method of ['GET', 'POST']) {
    const theirs = rows.find((x) => x.server.startsWith('openssl') && x.method === method)!.r;
    const bare = rows.find((x) => x.server.startsWith('bare') && x.method === method)!.r;
    for (const { name } of started) {
      const ours = rows.find((x) => x.server === name && x.method === method)!.r;
      console.log(`${method}: ${name}: pki/openssl = ${(ours.rps / theirs.rps).toFixed(2)}×, pki/bare node:http (one process) = ${Math.round((100 * ours.rps) / bare.rps)}%`);
    }
  }
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
