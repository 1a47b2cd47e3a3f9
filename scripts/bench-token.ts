/**
 * OAuth access tokens (docs/benchmarks.md, "Access tokens (#20)").
 *
 *   npx tsx scripts/bench-token.ts [--duration 10] [--connections 16] [--cpu-prof DIR]
 *
 * Makes a throwaway CA, a client certificate and a grant, starts `pki serve` (its own process,
 * loopback only) and asks POST /oauth/token over mTLS from this process: first on keep-alive
 * connections (`--connections` at once), then on a fresh TLS connection per token. Reports
 * tokens/s, p50/p99 latency and the server process's CPU per token (/proc/PID/stat utime+stime).
 * Then the verifier's cost per request (resource-server/verifier.ts) with the JWKS in memory:
 * the first sight of a token (signature check) and a token seen before (cached).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessTokenVerifier, addGrant, initInstance, openInstance } from '../src/index.ts';
import { systemClock } from '../src/domain/clock.ts';
import { makeCsr } from '../test/helpers/ca.ts';
import { freePort } from '../test/helpers/ports.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const DURATION_S = Number(opt('duration', '10'));
const CONNECTIONS = Number(opt('connections', '16'));
const PASSPHRASE = 'bench-passphrase-not-secret';
const PKI_BIN = fileURLToPath(new URL('../bin/pki.js', import.meta.url));
const LEDGER = 'https://ledger.internal';
const BODY = `grant_type=client_credentials&resource=${encodeURIComponent(LEDGER)}&scope=ledger:write`;

const work = mkdtempSync(join(tmpdir(), 'bench-token-'));
const dir = join(work, 'ca');
await initInstance({ dir, passphrase: PASSPHRASE });
const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: PASSPHRASE } });
const csr = await makeCsr({ sans: [{ type: 'url', value: 'spiffe://corp/ns/payments/sa/api' }] });
const client = await ca.authority.issue(csr.pem, {});
addGrant(ca, { client: 'spiffe://corp/ns/payments/*', audience: LEDGER, scopes: ['ledger:write'] }, systemClock);
const rootPem = ca.root.toString('pem');
await ca.close();

const [httpPort, acmePort] = [await freePort(), await freePort()];
// --cpu-prof DIR: the server writes a V8 CPU profile there on exit (where its time goes).
const PROF = opt('cpu-prof', '');
const server = spawn(process.execPath, [...(PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : []), PKI_BIN, 'serve', '--dir', dir, '--host', '127.0.0.1', '--http-port', String(httpPort), '--acme-port', String(acmePort)], {
  env: { ...process.env, PKI_PASSPHRASE: PASSPHRASE },
  stdio: ['ignore', 'ignore', 'ignore'],
});
const origin = `https://127.0.0.1:${acmePort}`;
const tls = { ca: rootPem, cert: client.chainPem, key: csr.keyPem };

function post(agent: Agent | false): Promise<{ ms: number; status: number; body: string }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${origin}/oauth/token`, { method: 'POST', agent, ...(agent ? {} : tls), headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(BODY) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ms: performance.now() - start, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject).end(BODY);
  });
}

const cpuTicks = () => {
  const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, fields 14 and 15
};

async function load(name: string, agent: Agent | false, concurrency: number) {
  const latencies: number[] = [];
  let failures = 0;
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  const end = t0 + DURATION_S * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = await post(agent);
        if (r.status === 200) latencies.push(r.ms);
        else failures++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = (cpuTicks() - cpu0) * 10;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
  console.log(`${name}: ${(latencies.length / seconds).toFixed(0)} tokens/s, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, server CPU ${((cpuMs / latencies.length) * 1000).toFixed(0)} µs/token, ${failures} failures, ${latencies.length} tokens in ${seconds.toFixed(1)} s`);
}

try {
  for (let i = 0; ; i++) {
    const ok = await post(new Agent({ ...tls })).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (i > 200) throw new Error('pki serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const keepAlive = new Agent({ ...tls, keepAlive: true, maxSockets: CONNECTIONS });
  await load('warm-up (keep-alive)', keepAlive, CONNECTIONS).catch(() => {});
  await load(`keep-alive mTLS, ${CONNECTIONS} connections`, keepAlive, CONNECTIONS);
  await load('fresh TLS connection per token, 4 at once', false, 4);
  keepAlive.destroy();

  // The verifier, in this process, with the JWKS in memory (as it is once fetched and cached).
  const jwks = (await new Promise<string>((resolve, reject) => request(`${origin}/.well-known/jwks.json`, { ca: rootPem }, (res) => { let b = ''; res.on('data', (c) => (b += c)).on('end', () => resolve(b)); }).on('error', reject).end()));
  const agent = new Agent({ ...tls, keepAlive: true });
  const tokens = await Promise.all(Array.from({ length: 500 }, async () => `Bearer ${(JSON.parse((await post(agent)).body) as { access_token: string }).access_token}`));
  agent.destroy();
  const verifier = new AccessTokenVerifier({ issuer: origin, audience: LEDGER, jwks: JSON.parse(jwks) as never });
  const der = client.der;
  // CPU time of this process (user + system), not wall time: the box is shared, and wall time counts others' turns.
  const cpuUs = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  let t = cpuUs();
  for (const tok of tokens) await verifier.verify(tok, der, { scope: ['ledger:write'] });
  const first = (cpuUs() - t) / tokens.length;
  const N = 200_000;
  t = cpuUs();
  for (let i = 0; i < N; i++) await verifier.verify(tokens[i % tokens.length]!, der, { scope: ['ledger:write'] });
  const cached = (cpuUs() - t) / N;
  console.log(`verifier (CPU): ${first.toFixed(1)} µs per request for a token seen the first time (ES256 signature), ${cached.toFixed(2)} µs per request for one seen before`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}
