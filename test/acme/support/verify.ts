import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { x509 } from '../../../src/x509/x509.ts';
import { run } from '../../helpers/tools.ts';

/** openssl verify of a leaf (first PEM of `chainPem`) against the root, with the rest as untrusted intermediates. */
export function expectVerifies(dir: string, rootPem: string, chainPem: string): x509.X509Certificate {
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  const name = `v-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, `${name}-root.pem`), rootPem);
  writeFileSync(join(dir, `${name}-leaf.pem`), blocks[0]!);
  writeFileSync(join(dir, `${name}-inter.pem`), blocks.slice(1).join('\n'));
  const out = run('openssl', ['verify', '-CAfile', join(dir, `${name}-root.pem`), '-untrusted', join(dir, `${name}-inter.pem`), join(dir, `${name}-leaf.pem`)]);
  expect(out).toContain(': OK');
  return new x509.X509Certificate(blocks[0]!);
}

/** The SANs of a certificate as "dns:…", "ip:…", sorted. */
export function sansOf(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.items ?? []).map((n) => `${n.type === 'url' ? 'uri' : n.type}:${n.value}`).sort();
}
