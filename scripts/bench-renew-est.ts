/**
 * scripts/bench-renew-est.ts: the CPU of an EST simplereenroll behind HTTP and TLS (#18): the EST
 * service's handle() with the current certificate as the peer certificate and a CSR for a new key,
 * through the one issuance path with the status service attached (OCSP pre-signed), on the
 * issuance connection `pki serve` uses. Several source trees in one process, their batches
 * alternating, so each tree meets the same load on a shared box: a change to src/est,
 * src/authority or src/store shows here without a handshake's noise (TLS and node:http are not in it).
 *
 *   node --import tsx scripts/bench-renew-est.ts [--trees .,/tmp/wt-base] [--renewals 500] [--rounds 6] [--warmup 1000]
 *
 * Every CSR (a new P-256 key each) is made before anything is measured, and each answer's
 * certificate is read back after its batch: what a round counts is the server's work alone
 * (process CPU, every thread: the group commit's fdatasync runs on libuv's pool).
 */
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { certificatesOfPkcs7 } from '../src/x509/pkcs7.ts';
import { x509 } from '../src/x509/x509.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const TREES = arg('trees', '.').split(',').map((t) => resolve(t));
const RENEWALS = Number(arg('renewals', '500'));
const ROUNDS = Number(arg('rounds', '6'));
const WARMUP = Number(arg('warmup', '1000'));
const CONCURRENCY = 4;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function csrFor(name: string): Promise<Uint8Array> {
  const keys = (await webcrypto.subtle.generateKey(ALG, false, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: ALG, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])] });
  return new Uint8Array(csr.rawData);
}

interface EstLike {
  handle(r: { method: string; operation: string; contentType: string; authorization: undefined; peerCertificate(): Uint8Array; body(): Promise<Buffer>; remoteAddress: string }): Promise<{ status: number; body: string | null }>;
}

/** One tree's instance, EST service and workloads (each the DER of its current certificate). */
async function openTree(tree: string, work: string) {
  const load = (p: string) => import(pathToFileURL(join(tree, p)).href);
  const { initInstance, openInstance, silentLogger } = await load('src/index.ts');
  const { startStatusService } = await load('src/instance/start-status.ts');
  const { estContext } = await load('src/instance/est.ts');
  const { EstService } = await load('src/est/service.ts');
  const dir = mkdtempSync(join(work, 'tree-'));
  await initInstance({ dir, passphrase: 'bench-passphrase' });
  const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: 'bench-passphrase' } });
  const status = await startStatusService(ca, silentLogger);
  await status.caughtUp;
  const est = new EstService(estContext(ca, { eabSealKey: new Uint8Array(32), logger: silentLogger })) as EstLike;
  const n = Math.max(WARMUP, RENEWALS);
  const certs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) certs.push((await ca.authority.issue(await csrFor(`w${i}.bench.test`))).der);
  return { tree, est, certs, close: async () => (status.stop(), await ca.close()) };
}
type Tree = Awaited<ReturnType<typeof openTree>>;

/** Renews workloads [0, count) of `t` once each, 4 at a time; returns the process CPU ms per renewal. */
async function renewAll(t: Tree, count: number, csrs: Uint8Array[]): Promise<number> {
  const bodies = csrs.map((c) => Buffer.from(Buffer.from(c).toString('base64')));
  const answers: string[] = new Array(count);
  let next = 0;
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      const i = next++;
      const der = t.certs[i]!;
      const r = await t.est.handle({ method: 'POST', operation: 'simplereenroll', contentType: 'application/pkcs10', authorization: undefined, peerCertificate: () => der, body: async () => bodies[i]!, remoteAddress: '127.0.0.1' });
      if (r.status !== 200) throw new Error(`${t.tree}: simplereenroll answered ${r.status}: ${r.body}`);
      answers[i] = r.body!;
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  for (let i = 0; i < count; i++) t.certs[i] = certificatesOfPkcs7(new Uint8Array(Buffer.from(answers[i]!.replace(/\s/g, ''), 'base64')))[0]!;
  return (cpu.user + cpu.system) / 1000 / count;
}

const work = mkdtempSync(join(tmpdir(), 'bench-renew-est-'));
try {
  const trees: Tree[] = [];
  for (const t of TREES) trees.push(await openTree(t, work));
  const csrsFor = async (count: number) => Promise.all(Array.from({ length: count }, (_, i) => csrFor(`w${i}.bench.test`)));
  for (const t of trees) await renewAll(t, WARMUP, await csrsFor(WARMUP));
  const results = new Map<string, number[]>(TREES.map((t) => [t, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each tree first in turn, so neither always runs right after the CSR generation.
    const order = round % 2 === 0 ? trees : [...trees].reverse();
    const csrs = await Promise.all(order.map(() => csrsFor(RENEWALS)));
    for (const [k, t] of order.entries()) results.get(t.tree)!.push(await renewAll(t, RENEWALS, csrs[k]!));
  }
  for (const [tree, ms] of results) {
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    process.stdout.write(`${tree}: ${ms.map((m) => m.toFixed(3)).join(' ')}  mean ${mean.toFixed(3)} ms CPU per renewal (${RENEWALS} a round, ${ROUNDS} rounds, after ${WARMUP} warm-up)\n`);
  }
  for (const t of trees) await t.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
