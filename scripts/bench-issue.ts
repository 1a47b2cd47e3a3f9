/**
 * Issuance throughput of Authority.issue on the file key store: CSR verify,
 * prepare + lint, reserve (synchronous=FULL commit), sign, store valid + audit.
 * Usage: npx tsx scripts/bench-issue.ts [count] [ec|rsa]   (defaults 2000, ec: P-256 CSRs; rsa: RSA-2048)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initInstance, openInstance } from '../src/index.ts';
import { x509 } from '../src/x509/x509.ts';

const count = Number(process.argv[2] ?? 2000);
const dir = join(mkdtempSync(join(tmpdir(), 'pki-bench-')), 'ca');
const passphrase = 'bench-passphrase';
await initInstance({ dir, passphrase });
const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: passphrase } });

const keyType = process.argv[3] ?? 'ec';
const alg =
  keyType === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const csrs: string[] = [];
for (let i = 0; i < count; i++) {
  const keys = (await crypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: `svc-${i}.bench.internal` }, { type: 'url', value: `spiffe://corp/bench/${i}` }])],
  });
  csrs.push(csr.toString('pem'));
}

// Warm up JIT and statement caches.
for (let i = 0; i < 50; i++) await ca.authority.issue(csrs[i]!);

const latencies: number[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const csr of csrs) {
  const s = performance.now();
  await ca.authority.issue(csr);
  latencies.push(performance.now() - s);
}
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(2);

console.log(
  JSON.stringify({
    count,
    csrKey: keyType,
    issuancesPerSecond: Math.round((count / wall) * 1000),
    cpuMsPerIssuance: ((cpu.user + cpu.system) / 1000 / count).toFixed(2),
    latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1)!.toFixed(2) },
    node: process.version,
  }),
);
await ca.close();
rmSync(dir, { recursive: true, force: true });
