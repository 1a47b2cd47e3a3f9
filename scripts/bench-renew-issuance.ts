/**
 * scripts/bench-renew-issuance.ts: the one issuance path alone, as a renewal and an ACME order
 * both reach it (#18): Authority.issue with the status service attached (CSR read and verify,
 * prepare + lint, reserve durably, sign + verify, the first OCSP response, valid + audit + log
 * leaf durably), `--concurrency` at a time on the group-commit connection `pki serve` uses, after
 * 500 warm-up issuances. Prints the process's CPU (every thread: the fdatasync of group commit runs
 * on libuv's pool) per issuance. No HTTP, no TLS: what a cut in src/authority, src/status or
 * src/store saves shows here without the handshake's noise.
 *
 *   node --import tsx scripts/bench-renew-issuance.ts [--count 3000] [--concurrency 4]
 *   strace -f -c -o /tmp/sys.txt node --import tsx scripts/bench-renew-issuance.ts --count 1000   syscalls per issuance
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initInstance, openInstance, silentLogger } from '../src/index.ts';
import { startStatusService } from '../src/instance/start-status.ts';
import { x509 } from '../src/x509/x509.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const COUNT = Number(arg('count', '3000'));
const CONCURRENCY = Number(arg('concurrency', '4'));
const WARMUP = 500;

const work = mkdtempSync(join(tmpdir(), 'bench-renew-issuance-'));
const dir = join(work, 'ca');
await initInstance({ dir, passphrase: 'bench-passphrase' });
const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: 'bench-passphrase' } });
const status = await startStatusService(ca, silentLogger);
try {
  await status.caughtUp;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const csrs: Uint8Array[] = [];
  for (let i = 0; i < WARMUP + COUNT; i++) {
    const keys = (await crypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: `w${i}.bench.test` }])] });
    csrs.push(new Uint8Array(csr.rawData));
  }
  let next = 0;
  const run = async (n: number) => {
    const end = next + n;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < end) await ca.authority.issue(csrs[next++]!);
    }));
  };
  await run(WARMUP);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(COUNT);
  const cpu = process.cpuUsage(cpu0);
  const each = (us: number) => (us / 1000 / COUNT).toFixed(3);
  process.stdout.write(`${COUNT} issuances, concurrency ${CONCURRENCY}: ${each(cpu.user + cpu.system)} ms CPU each (user ${each(cpu.user)}, system ${each(cpu.system)}), ${(COUNT / ((performance.now() - t0) / 1000)).toFixed(0)}/s\n`);
} finally {
  status.stop();
  await ca.close();
  rmSync(work, { recursive: true, force: true });
}
