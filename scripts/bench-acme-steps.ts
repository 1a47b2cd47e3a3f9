/**
 * scripts/bench-acme-steps: where an ACME order's server CPU goes, step by step. One client,
 * one order at a time (concurrency 1), against `pki serve`; the server's main-thread CPU time
 * (/proc/PID/task/PID/schedstat, nanoseconds) is read around each request and summed per step
 * over N orders after 100 warm-up orders. GET directory and HEAD newNonce give the floor of a
 * request with no JWS.
 *
 *   N=300 node --import tsx scripts/bench-acme-steps.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChallengeServer } from '../test/acme/support/challenge-server.ts';
import { startDnsServer } from '../test/acme/support/dns-server.ts';
import { freePort } from '../test/helpers/ports.ts';
import { LeanAcmeClient } from './bench/lean-client.ts';
import { startPki } from './bench/servers.ts';
import { initBenchInstance, makeCsrs } from './bench/workload.ts';

const web = await startChallengeServer();
const dns = await startDnsServer();
const work = mkdtempSync(join(tmpdir(), 'bench-acme-steps-'));
const dir = join(work, 'ca');
await initBenchInstance(dir, 'bench-passphrase');
const server = await startPki({ dir, passphrase: 'bench-passphrase', acmePort: await freePort(), http01Port: web.port, dnsServer: dns.address });
const ns = () => Number(readFileSync(`/proc/${server.pid}/task/${server.pid}/schedstat`, 'utf8').split(' ')[0]);
const client = new LeanAcmeClient(server.caPem, 1);
await client.start(server.directoryUrl);
const acc = new Map<string, number>();
const N = Number(process.env.N ?? 300);
const orders = await makeCsrs(N + 100, 's');
for (let i = 0; i < N + 100; i++) {
  const { name, csr } = orders[i]!;
  const step = async <T>(k: string, f: () => Promise<T>): Promise<T> => { const a = ns(); const r = await f(); if (i >= 100) acc.set(k, (acc.get(k) ?? 0) + ns() - a); return r; };
  const o = await step('newOrder', () => client.newOrder(name));
  const order = JSON.parse(o.body) as { authorizations: string[]; finalize: string };
  const az = JSON.parse((await step('authz', () => client.post(order.authorizations[0]!, ''))).body) as { challenges: { type: string; url: string; token: string }[] };
  const ch = az.challenges.find((c) => c.type === 'http-01')!;
  web.set(ch.token, `${ch.token}.${client.thumbprint}`);
  await step('challenge+validation', () => client.post(ch.url, {}));
  await step('order poll', () => client.post(o.headers.location as string, ''));
  const fin = JSON.parse((await step('finalize', () => client.post(order.finalize, { csr }))).body) as { certificate: string };
  await step('download', () => client.post(fin.certificate, ''));
  await step('GET directory', () => client.http('GET', server.directoryUrl));
  await step('HEAD newNonce', () => client.http('HEAD', client.dir.newNonce!));
}
let total = 0;
for (const [k, v] of acc) {
  if (!k.startsWith('GET') && !k.startsWith('HEAD')) total += v;
  console.log(k.padEnd(24), (v / N / 1e6).toFixed(3), 'ms');
}
console.log('order total'.padEnd(24), (total / N / 1e6).toFixed(3), 'ms');
client.close();
await server.stop();
await dns.close();
await web.close();
rmSync(work, { recursive: true, force: true });
