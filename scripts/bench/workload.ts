import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initInstance } from '../../src/index.ts';
import { x509 } from '../../src/x509/x509.ts';

/** `n` P-256 CSRs (base64url DER), each for one DNS name `<prefix><i>.bench.test`. */
export async function makeCsrs(n: number, prefix: string): Promise<{ name: string; csr: string }[]> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${i}.bench.test`;
    const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: '', keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])] });
    out.push({ name, csr: Buffer.from(csr.rawData).toString('base64url') });
  }
  return out;
}

/**
 * A fresh instance for ACME benchmarks: no EAB, and the per-account rate limits raised past
 * any run (one account orders as fast as it can; the limits are still checked on every request).
 */
export async function initBenchInstance(dir: string, passphrase: string): Promise<void> {
  await initInstance({ dir, passphrase, requireEab: false });
  const configPath = join(dir, 'pki.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const unbounded = { burst: 1_000_000, perSecond: 1_000_000 };
  writeFileSync(configPath, JSON.stringify({ ...config, rateLimits: { ...(config.rateLimits as object), newOrderPerAccount: unbounded, finalizePerAccount: unbounded } }, null, 2));
}
