/**
 * scripts/bench-renew-tls.ts: server CPU of one fresh mTLS handshake (P-256 certificates, a client
 * certificate presented, one GET) under TLS option variants, on a standalone node:https server with
 * the ACME listener's options (src/http/acme-https/listener.ts ACME_TLS): what docs/benchmarks.md
 * "Renewal CPU (#18), re-cut" quotes for tickets, the key-exchange group, client chain checks and suites.
 *
 *   npx tsx scripts/bench-renew-tls.ts [--connections 1500]
 *
 * The server runs in a child process (its CPU from process.cpuUsage); the client opens one
 * connection per request, 4 at a time, after 500 warm-up connections.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACME_TLS } from '../src/http/acme-https/listener.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};

interface Variant { label: string; server: Record<string, unknown>; clientCurve?: string }
const VARIANTS: Variant[] = [
  { label: 'listener options without SSL_OP_NO_TICKET (main before #18 re-cut)', server: { secureOptions: 0 } },
  { label: 'listener options (SSL_OP_NO_TICKET)', server: {} },
  { label: '+ ecdhCurve X25519', server: { ecdhCurve: 'X25519' } },
  { label: '+ ecdhCurve P-256', server: { ecdhCurve: 'P-256' } },
  { label: '+ ecdhCurve P-256, client offers P-256 only', server: { ecdhCurve: 'P-256' }, clientCurve: 'P-256' },
  { label: '+ ca: OpenSSL verifies the client chain', server: { ca: true } },
  { label: '+ TLS_AES_256_GCM_SHA384 first', server: { ciphers: ACME_TLS.ciphers.replace('TLS_AES_128_GCM_SHA256:', '') } },
  { label: '+ TLS_CHACHA20_POLY1305_SHA256 only', server: { ciphers: 'TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-CHACHA20-POLY1305' } },
];

/** The child: one server with ACME_TLS + the variant, answering whether a client certificate came; prints its port, answers "cpu". */
if (process.argv[2] === '--serve') {
  const dir = process.argv[3]!;
  const extra = JSON.parse(process.argv[4]!) as Record<string, unknown>;
  if (extra.ca) extra.ca = readFileSync(join(dir, 'ca.pem'));
  const server = createServer({ ...ACME_TLS, ...extra, key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.pem')), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    res.end((req.socket as import('node:tls').TLSSocket).getPeerX509Certificate() ? 'cert' : 'none');
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as import('node:net').AddressInfo).port));
  process.on('message', () => process.send!(process.cpuUsage()));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'bench-renew-tls-'));
  const openssl = (...a: string[]) => execFileSync('openssl', a, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-subj', '/CN=bench CA', '-days', '2', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'));
  for (const [name, subj, san] of [['srv', '/CN=127.0.0.1', 'IP:127.0.0.1'], ['cli', '/CN=w1.test', 'DNS:w1.test']] as const) {
    openssl('req', ...ec, '-subj', subj, '-addext', `subjectAltName=${san}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`));
    openssl('x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-days', '2', '-copy_extensions', 'copy', '-out', join(dir, `${name}.pem`));
  }
  const ca = readFileSync(join(dir, 'ca.pem'));
  const cert = readFileSync(join(dir, 'cli.pem'));
  const key = readFileSync(join(dir, 'cli.key'));
  const n = Number(arg('connections', '1500'));
  try {
    for (const v of VARIANTS) {
      const child = fork(new URL(import.meta.url).pathname, ['--serve', dir, JSON.stringify(v.server)], { execArgv: ['--import', 'tsx'] });
      const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
      const cpu = () => new Promise<NodeJS.CpuUsage>((r) => (child.once('message', (m) => r(m as NodeJS.CpuUsage)), child.send('cpu')));
      const one = () => new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ca, cert, key, ...(v.clientCurve ? { ecdhCurve: v.clientCurve } : {}) }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c));
          r.on('end', () => (body === 'cert' ? resolve() : reject(new Error(`server saw ${body}`))));
        });
        req.on('error', reject);
        req.end();
      });
      const run = async (k: number) => {
        let i = 0;
        await Promise.all(Array.from({ length: 4 }, async () => {
          while (i++ < k) await one();
        }));
      };
      await run(500);
      const c0 = await cpu();
      await run(n);
      const c1 = await cpu();
      process.stdout.write(`${v.label}: ${((c1.user + c1.system - c0.user - c0.system) / 1000 / n).toFixed(3)} ms server CPU per handshake\n`);
      child.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

