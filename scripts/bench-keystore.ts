/**
 * Key stores compared in one run: signatures per second through SoftHSM2 (PKCS#11) against
 * the file key store, and the issuance rate of Authority.issue on an instance using each.
 * A throwaway SoftHSM2 token is made in a temp dir (SOFTHSM2_CONF is set before the library loads).
 *
 * Usage: npx tsx scripts/bench-keystore.ts [signSeconds] [issueCount]   (defaults: 3, 1000)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initInstance, openInstance, type CaInstance } from '../src/index.ts';
import type { KeyAlg } from '../src/domain/algorithms.ts';
import { FileKeyStore } from '../src/keystore/file.ts';
import type { KeyStore, Signer } from '../src/keystore/keystore.ts';
import { Pkcs11KeyStore } from '../src/keystore/pkcs11.ts';
import { x509 } from '../src/x509/x509.ts';

const signSeconds = Number(process.argv[2] ?? 3);
const issueCount = Number(process.argv[3] ?? 1000);
const MODULE = process.env.PKI_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
const CONCURRENCY = 8;

const work = mkdtempSync(join(tmpdir(), 'pki-bench-ks-'));
mkdirSync(join(work, 'tokens'));
process.env.SOFTHSM2_CONF = join(work, 'softhsm2.conf');
writeFileSync(process.env.SOFTHSM2_CONF, `directories.tokendir = ${join(work, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
const token = { label: 'bench', pin: randomBytes(8).toString('hex') };
execFileSync('softhsm2-util', ['--init-token', '--free', '--label', token.label, '--pin', token.pin, '--so-pin', randomBytes(8).toString('hex')], { stdio: 'ignore' });

interface Rate {
  perSecond: number;
  /** Process CPU (all threads: the token's work runs on libuv's pool) per operation, µs. */
  cpuUs: number;
}

/** Signatures per second over `signSeconds`, with `inFlight` sign calls outstanding at a time. */
async function signRate(signer: Signer, inFlight: number): Promise<Rate> {
  const tbs = randomBytes(600); // about a leaf TBSCertificate
  for (let i = 0; i < 50; i++) await signer.sign(tbs);
  let done = 0;
  const end = performance.now() + signSeconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await signer.sign(tbs);
        done++;
      }
    }),
  );
  return rate(done, performance.now() - t0, process.cpuUsage(cpu0));
}

function rate(count: number, wallMs: number, cpu: NodeJS.CpuUsage): Rate {
  return { perSecond: Math.round((count / wallMs) * 1000), cpuUs: Math.round((cpu.user + cpu.system) / count) };
}

function cells(one: Rate, many: Rate): string[] {
  return [String(one.perSecond), String(many.perSecond), one.cpuUs >= 1000 ? `${(one.cpuUs / 1000).toFixed(1)} ms` : `${one.cpuUs} µs`];
}

async function makeCsrs(n: number): Promise<string[]> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const keys = (await crypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: `svc-${i}.bench.internal` }])],
    });
    out.push(csr.toString('pem'));
  }
  return out;
}

/** Issuances per second over all `csrs`, with `inFlight` Authority.issue calls outstanding at a time. */
async function issueRate(ca: CaInstance, csrs: string[], inFlight: number): Promise<Rate> {
  for (let i = 0; i < 20; i++) await ca.authority.issue(csrs[i]!);
  let next = 20;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < csrs.length) await ca.authority.issue(csrs[next++]!);
    }),
  );
  return rate(csrs.length - 20, performance.now() - t0, process.cpuUsage(cpu0));
}

const load0 = loadavg().map((l) => l.toFixed(2)).join(' ');
const rows: string[][] = [];
const stores: { name: string; open: () => Promise<KeyStore> }[] = [
  { name: 'file', open: async () => new FileKeyStore(join(work, 'file-keys'), 'bench-passphrase') },
  { name: 'pkcs11 (SoftHSM2)', open: () => Pkcs11KeyStore.open({ module: MODULE, token: token.label }, token.pin) },
];
for (const alg of ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'] as KeyAlg[]) {
  for (const s of stores) {
    const ks = await s.open();
    await ks.createKey({ label: `bench-${alg}`, alg });
    const signer = await ks.getSigner({ label: `bench-${alg}` });
    rows.push([`sign ${alg}`, s.name, ...cells(await signRate(signer, 1), await signRate(signer, CONCURRENCY))]);
    await ks.close();
  }
}

const csrs = await makeCsrs(issueCount + 20);
const instances: { name: string; open: () => Promise<CaInstance> }[] = [
  {
    name: 'file',
    open: async () => {
      const dir = join(work, 'ca-file');
      await initInstance({ dir, passphrase: 'bench-passphrase' });
      return openInstance({ dir, env: { PKI_PASSPHRASE: 'bench-passphrase' } });
    },
  },
  {
    name: 'pkcs11 (SoftHSM2)',
    open: async () => {
      const dir = join(work, 'ca-pkcs11');
      await initInstance({ dir, passphrase: 'bench-passphrase', keyStore: { type: 'pkcs11', settings: { module: MODULE, token: token.label, pinEnv: 'BENCH_PIN' }, secret: token.pin } });
      return openInstance({ dir, env: { BENCH_PIN: token.pin } });
    },
  },
];
for (const i of instances) {
  const ca = await i.open();
  // Warm the JIT and statement caches on each instance, so the first one measured is not penalized.
  await issueRate(ca, csrs.slice(0, 220), CONCURRENCY);
  // Each pass issues every CSR once more (serials are fresh), so the rates compare like with like.
  rows.push(['issue (P-256 leaf, ecdsa-p256 CA)', i.name, ...cells(await issueRate(ca, csrs, 1), await issueRate(ca, csrs, CONCURRENCY))]);
  await ca.close();
}

const header = ['operation', 'key store', 'per second, 1 in flight', `per second, ${CONCURRENCY} in flight`, 'CPU per op (1 in flight)'];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
console.log(`\nnode ${process.version}, ${signSeconds} s per signature measurement, ${issueCount} issuances per issuance measurement, load average before: ${load0}`);
rmSync(work, { recursive: true, force: true });
