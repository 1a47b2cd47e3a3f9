import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificatesOfPkcs7 } from '../x509/pkcs7.ts';
import { toPem } from '../x509/x509.ts';
import type { CertPair } from './files.ts';
import { installProven, type IssuedPair } from './install.ts';
import { createCsr, generateKeyPem } from './keys.ts';
import type { EnrollmentState } from './state.ts';

/** Why a renewal by the current certificate did not happen (the caller falls back to ACME). */
export interface EstRefusal {
  refused: string;
}

/** The EST simplereenroll URL (RFC 7030 §3.2.2) on the same origin as the ACME directory. */
export const reenrollUrl = (server: string) => new URL('/.well-known/est/simplereenroll', server).toString();

/**
 * Renewal by the current certificate (RFC 7030 §4.2.2): a new key, a CSR for the enrollment's
 * names, sent over mTLS with the current pair as the TLS client certificate. The server needs no
 * account, challenge or EAB for it. The answer (base64 PKCS#7 certs-only) is verified against the
 * pinned root and installed atomically like an ACME certificate. Any refusal or transport failure
 * is returned, not thrown, so `pki renew` can fall back to a full ACME order.
 */
export async function reenrollOverEst(dir: string, state: EnrollmentState, pair: CertPair): Promise<IssuedPair | EstRefusal> {
  const rootPem = await readFile(join(dir, state.rootFile), 'utf8');
  const keyPem = await generateKeyPem(state.keyAlg);
  const csrPem = await createCsr(keyPem, state.keyAlg, state.identifiers);
  const csrB64 = csrPem.replace(/-----[^-]+-----|\s/g, '');
  let res: { status: number; body: string };
  try {
    res = await post(reenrollUrl(state.server), csrB64, { ca: rootPem, cert: pair.certPem + pair.chainPem, key: pair.keyPem });
  } catch (e) {
    return { refused: `EST simplereenroll could not be reached: ${(e as Error).message}` };
  }
  if (res.status !== 200) return { refused: `EST simplereenroll answered ${res.status}: ${res.body.trim().slice(0, 500)}` };
  let leafDer: Uint8Array | undefined;
  try {
    leafDer = certificatesOfPkcs7(new Uint8Array(Buffer.from(res.body.replace(/\s/g, ''), 'base64')))[0];
  } catch (e) {
    return { refused: `EST simplereenroll answered something else than PKCS#7 certs-only: ${(e as Error).message}` };
  }
  if (!leafDer) return { refused: 'EST simplereenroll returned no certificate' };
  // The intermediate has not changed if the new leaf verifies with the current chain; if it has, installProven refuses and ACME takes over.
  return installProven(dir, state, rootPem, { keyPem, certPem: toPem(leafDer, 'CERTIFICATE'), chainPem: pair.chainPem });
}

function post(url: string, body: string, tls: { ca: string; cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ...tls, timeout: 30_000, headers: { 'Content-Type': 'application/pkcs10', 'Content-Transfer-Encoding': 'base64' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1 << 20) req.destroy(new Error('the answer is larger than 1 MiB'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}
