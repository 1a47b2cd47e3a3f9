import { createHash, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { CaError } from '../domain/errors.ts';

/** Normalises `AB:CD:…` / `abcd…` / `sha256:abcd…` to lowercase hex. */
export function normalizeFingerprint(text: string): string {
  const hex = text.trim().toLowerCase().replace(/^sha256:/, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new CaError('malformed', `invalid --root-fingerprint "${text}": expected a SHA-256 fingerprint (64 hex digits, colons allowed)`);
  return hex;
}

export function fingerprintOf(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/**
 * Trust on first use, pinned: fetches the root certificate from the server
 * without verifying TLS (nothing is trusted yet) and accepts it only if its
 * SHA-256 fingerprint is the one the operator supplied out of band.
 */
export async function bootstrapRoot(server: string, fingerprint: string): Promise<string> {
  const want = normalizeFingerprint(fingerprint);
  const url = new URL('/ca/root.pem', server);
  const pem = await new Promise<string>((resolve, reject) => {
    const req = request(url, { method: 'GET', rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 64 * 1024) req.destroy(new Error('response too large'));
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  }).catch((e: Error) => {
    throw new CaError('unavailable', `cannot fetch the root certificate from ${url}: ${e.message}`);
  });
  let got: string;
  try {
    got = fingerprintOf(pem);
  } catch {
    throw new CaError('refused', `${url} did not return a certificate`);
  }
  if (got !== want) throw new CaError('unauthorized', `the server's root certificate has fingerprint ${got}, not the expected ${want}: refusing to trust it`);
  return pem;
}

/** Checks that `certPem` chains through `chainPem` to `rootPem` and is valid now. */
export function verifyChain(certPem: string, chainPem: string, rootPem: string, now = new Date()): void {
  const leaf = new X509Certificate(certPem);
  const intermediates = splitPem(chainPem).map((p) => new X509Certificate(p));
  const root = new X509Certificate(rootPem);
  let current = leaf;
  for (const next of [...intermediates.filter((c) => c.raw.compare(root.raw) !== 0), root]) {
    if (!current.verify(next.publicKey)) throw new CaError('refused', `certificate "${current.subject}" is not signed by "${next.subject}"`);
    current = next;
  }
  if (new Date(leaf.validTo) <= now || new Date(leaf.validFrom) > new Date(now.getTime() + 5 * 60_000)) {
    throw new CaError('refused', `the issued certificate is not valid now (${leaf.validFrom} – ${leaf.validTo})`);
  }
}

export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)?.map((p) => (p.endsWith('\n') ? p : p + '\n')) ?? [];
}
