import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { initInstance, openInstance, parseDuration, type CaInstance, type InitOptions } from '../../src/index.ts';
import { Authority } from '../../src/authority/authority.ts';
import { issuerUrls } from '../../src/authority/profiles.ts';
import { x509 } from '../../src/x509/x509.ts';
import { tempDir } from './tmp.ts';

export const TEST_PASSPHRASE = 'test-passphrase-not-secret';

/** A fresh CA instance in a temp dir, opened; close it in afterAll. */
export async function createTestCa(opts: Partial<InitOptions> = {}): Promise<CaInstance> {
  const dir = join(tempDir(), 'ca');
  await initInstance({ dir, passphrase: TEST_PASSPHRASE, ...opts });
  return openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
}

/** A PEM CSR made with @peculiar/x509 (tests that need a foreign tool use openssl instead). */
export async function makeCsr(p: { cn?: string; sans?: { type: 'dns' | 'ip' | 'url'; value: string }[]; alg?: 'P-256' | 'P-384' } = {}): Promise<{ pem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: p.alg ?? 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: p.cn ? `CN=${p.cn}` : '',
    keys,
    signingAlgorithm: alg,
    extensions: p.sans ? [new x509.SubjectAlternativeNameExtension(p.sans)] : [],
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { pem: csr.toString('pem'), keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}

export { generateKeyPairSync };

/**
 * Another Authority over the same instance (store, issuing key, certificate) with a different
 * CRL sharding: what a `crl.shards` setting in pki.json would open.
 */
export async function authorityWithShards(ca: CaInstance, crlShards: number): Promise<Authority> {
  return Authority.open({
    store: ca.issuanceStore,
    clock: ca.clock,
    keyStore: ca.keyStore,
    keyLabel: ca.config.intermediate.keyLabel,
    certificate: ca.intermediate,
    urls: (keyId) => issuerUrls(ca.config.baseUrl, keyId),
    crlShards,
    defaultLifetimeMs: parseDuration(ca.config.issuance.lifetime),
    maxLifetimeMs: parseDuration(ca.config.issuance.maxLifetime),
  });
}
