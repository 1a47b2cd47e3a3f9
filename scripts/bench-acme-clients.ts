/**
 * scripts/bench-acme-clients.ts: the request pattern real ACME clients send at concurrency 8
 * (#21), counted by `pki serve` itself (pki_acme_requests_total by resource, sampled every
 * 250 ms for the peak per second) with the rate limits as configured (schema defaults unless
 * `--limits off`). What the defaults in src/config/rate-limits.ts are sized on (docs/operations.md).
 *
 *   node --import tsx scripts/bench-acme-clients.ts [--orders 200] [--concurrency 8] [--clients acme-client,lego] [--limits off]
 *
 * acme-client (npm, default settings: a HEAD newNonce before every signed request) runs in this
 * process on one account, `concurrency` orders at a time. lego runs `concurrency` processes at
 * a time, each `lego run` (a new account and one order, http-01 from a webroot). certbot is run
 * when installed, the same way.
 */
import acme from 'acme-client';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer } from '../test/acme/support/dns-server.ts';
import { initInstance, openInstance, silentLogger, startServer } from '../src/index.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const ORDERS = Number(arg('orders', '200'));
const CONCURRENCY = Number(arg('concurrency', '8'));
const CLIENTS = arg('clients', 'acme-client,lego,certbot').split(',');
const off = { newOrderPerAccount: false, finalizePerAccount: false, newAccountPerIp: false, newNoncePerIp: false } as const;

const work = mkdtempSync(join(tmpdir(), 'bench-acme-clients-'));
const webroot = join(work, 'webroot');
mkdirSync(join(webroot, '.well-known', 'acme-challenge'), { recursive: true });
// http-01 answers from memory (acme-client) or from the webroot the client wrote (lego, certbot).
const tokens = new Map<string, string>();
const web = createServer((req, res) => {
  const token = (req.url ?? '').split('/').pop() ?? '';
  let body = tokens.get(token);
  if (body === undefined) {
    try {
      body = readFileSync(join(webroot, '.well-known', 'acme-challenge', token), 'utf8');
    } catch {
      return void res.writeHead(404).end();
    }
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' }).end(body);
});
await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
const dns = await startDnsServer();
await initInstance({ dir: join(work, 'ca'), passphrase: 'bench-passphrase' });
const ca = await openInstance({ dir: join(work, 'ca'), env: { PKI_PASSPHRASE: 'bench-passphrase' } });
if (arg('limits', 'default') === 'off') Object.assign(ca.config.rateLimits, off);
const server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: { requireEab: false, http01Port: (web.address() as AddressInfo).port, dnsServer: dns.address } });
const directoryUrl = server.acme!.directoryUrl;
const rootFile = join(work, 'root.pem');
writeFileSync(rootFile, ca.root.toString('pem') + '\n');

/** Requests by resource (and the 429s) as the server counted them. */
async function counts(): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  const text = await ca.metrics.registry.metrics();
  for (const [, labels, n] of text.matchAll(/^pki_acme_(?:requests|rate_limited)_total\{([^}]*)\} (\d+)/gm)) m.set(labels!, Number(n));
  return m;
}

async function measure(name: string, run: () => Promise<number>): Promise<void> {
  const before = await counts();
  let peak = 0;
  let last = [...before].filter(([k]) => k.includes('resource="newNonce"')).reduce((n, [, v]) => n + v, 0);
  const sampler = setInterval(() => {
    void counts().then((c) => {
      const now = [...c].filter(([k]) => k.includes('resource="newNonce"')).reduce((n, [, v]) => n + v, 0);
      peak = Math.max(peak, (now - last) * 4);
      last = now;
    });
  }, 250);
  const t0 = performance.now();
  const orders = await run();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const after = await counts();
  const delta: Record<string, number> = {};
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) delta[k] = v - (before.get(k) ?? 0);
  const nonces = Object.entries(delta).filter(([k]) => k.includes('resource="newNonce"')).reduce((n, [, v]) => n + v, 0);
  const limited = Object.entries(delta).filter(([k]) => k.startsWith('limit=')).reduce((n, [, v]) => n + v, 0);
  const perOrder = Object.fromEntries(Object.entries(delta).filter(([k]) => k.startsWith('resource=')).map(([k, v]) => [k.replace(/resource="(\w+)",problem="(\w+)"/, '$1 $2'), +(v / orders).toFixed(2)]));
  process.stdout.write(`${JSON.stringify({ client: name, concurrency: CONCURRENCY, orders, seconds: +seconds.toFixed(1), ordersPerS: +(orders / seconds).toFixed(1), newNoncePerS: +(nonces / seconds).toFixed(0), newNoncePeakPerS: peak, rateLimited: limited, perOrder })}\n`);
}

async function pool(n: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await job(next++);
  }));
  return n;
}

const exec = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<number | null>((resolve) => spawn(cmd, args, { env: { ...process.env, ...env }, stdio: 'ignore' }).on('close', resolve));

try {
  if (CLIENTS.includes('acme-client')) {
    acme.axios.defaults.httpsAgent = new Agent({ ca: ca.root.toString('pem'), keepAlive: true });
    const client = new acme.Client({ directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
    const key = await acme.crypto.createPrivateEcdsaKey();
    await measure('acme-client', () => pool(ORDERS, async (i) => {
      const [, csr] = await acme.crypto.createCsr({ altNames: [`ac${i}.example.test`] }, key);
      await client.auto({ csr, termsOfServiceAgreed: true, challengePriority: ['http-01'], skipChallengeVerification: true,
        challengeCreateFn: async (_a, ch, ka) => void tokens.set(ch.token, ka), challengeRemoveFn: async () => {} });
    }));
  }
  if (CLIENTS.includes('lego')) {
    // Each run: a new account and one order, as a fleet of machines each running lego would.
    await measure('lego', () => pool(Math.min(ORDERS, 32), async (i) => {
      const code = await exec('lego', ['--server', directoryUrl, '--accept-tos', '--email', `l${i}@lego.test`, '--path', join(work, `lego${i}`), '--domains', `lego${i}.example.test`, '--http', '--http.webroot', webroot, 'run'], { LEGO_CA_CERTIFICATES: rootFile });
      if (code !== 0) throw new Error(`lego exited ${code}`);
    }));
  }
  if (CLIENTS.includes('certbot')) {
    if (spawnSync('certbot', ['--version']).error) process.stdout.write('certbot: not installed, skipped\n');
    else
      await measure('certbot', () => pool(Math.min(ORDERS, 32), async (i) => {
        const d = join(work, `certbot${i}`);
        const code = await exec('certbot', ['certonly', '--non-interactive', '--agree-tos', '--register-unsafely-without-email', '--server', directoryUrl, '--webroot', '-w', webroot, '-d', `cb${i}.example.test`, '--config-dir', d, '--work-dir', d, '--logs-dir', d], { REQUESTS_CA_BUNDLE: rootFile });
        if (code !== 0) throw new Error(`certbot exited ${code}`);
      }));
  }
} finally {
  await server.close();
  await ca.close();
  await dns.close();
  web.close();
  rmSync(work, { recursive: true, force: true });
}
