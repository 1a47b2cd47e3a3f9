import { request } from 'node:https';
import type { Store } from '../../src/store/store.ts';
import { certificatesOfPkcs7 } from '../../src/x509/pkcs7.ts';
import { toPem, x509 } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';

/** One simulated workload: a Kubernetes service account and the certificate it holds now. */
export interface Workload {
  ns: string;
  sa: string;
  identifiers: string[];
  certPem: string;
  keyPem: string;
  serial: string;
}

/** The identifiers the fleet's issuer template yields for system:serviceaccount:NS:SA, sorted. */
export const expected = (ns: string, sa: string) => [`dns:${sa}.${ns}.svc`, `uri:spiffe://corp/ns/${ns}/sa/${sa}`];

/** A certificate's SubjectAltName entries as pki formats identifiers (`dns:…`, `uri:…`), sorted. */
export function sansOf(certPem: string): string[] {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.toJSON() ?? []).map((n) => `${n.type === 'url' ? 'uri' : n.type}:${n.value}`).sort();
}

/** Runs job(0..n-1), `concurrency` at a time, as a fleet's workloads would hit the CA at once. */
export async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await job(next++);
  }));
}

/** Certificates the CA issues itself, not to a workload. */
const CA_OWN = new Set(['root', 'intermediate', 'ocsp-responder']);

export type Renewal = { ok: true; next: Workload; replaces: string } | { ok: false; status: number; body: string };

/**
 * EST simplereenroll (RFC 7030 §4.2.2) as a workload does it: a new key and a CSR for exactly its
 * identifiers, POSTed base64 on a new TLS connection whose client certificate is the one being
 * renewed (the handshake proves its key). No account, token or challenge.
 */
export async function renew(origin: string, caPem: string, w: Workload): Promise<Renewal> {
  const sans = w.identifiers.map((i) => (i.startsWith('uri:') ? { type: 'url' as const, value: i.slice(4) } : { type: 'dns' as const, value: i.slice(4) }));
  const { pem, keyPem } = await makeCsr({ sans });
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${origin}/.well-known/est/simplereenroll`, { method: 'POST', agent: false, ca: caPem, cert: w.certPem, key: w.keyPem, timeout: 60_000, headers: { 'Content-Type': 'application/pkcs10' } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('simplereenroll timed out')));
    req.on('error', reject);
    req.end(pem.replace(/-----[^-]+-----|\s/g, ''));
  });
  if (res.status !== 200) return { ok: false, ...res };
  const certPem = toPem(certificatesOfPkcs7(new Uint8Array(Buffer.from(res.body.replace(/\s/g, ''), 'base64')))[0]!, 'CERTIFICATE');
  return { ok: true, replaces: w.serial, next: { ...w, certPem, keyPem, serial: new x509.X509Certificate(certPem).serialNumber } };
}

/**
 * Every certificate the CA recorded, checked against the fleet's issuer template: each one but the
 * CA's own (root, intermediate, OCSP signer, and `caOwn`: the listener's TLS certificate, issued
 * before any workload came) must name exactly `expected(ns, sa)` for one service account that was entitled to it
 * (`entitled(sa)`); returns what breaks that rule (empty when nothing was issued outside it) and
 * the leaves per service account, to count enrolment + renewals.
 */
export function inventory(store: Store, caOwn: ReadonlySet<string>, entitled: (ns: string, sa: string) => boolean): { stray: string[]; perAccount: Map<string, string[]> } {
  const stray: string[] = [];
  const perAccount = new Map<string, string[]>();
  for (const c of store.certificates.list({ now: new Date() })) {
    if (c.status === 'failed' || CA_OWN.has(c.profile) || caOwn.has(c.serial)) continue;
    const sans = [...c.sans].sort();
    const m = /^dns:([a-z0-9-]+)\.([a-z0-9-]+)\.svc$/.exec(sans[0] ?? '');
    if (!m || !entitled(m[2]!, m[1]!) || JSON.stringify(sans) !== JSON.stringify(expected(m[2]!, m[1]!))) {
      stray.push(`${c.serial} (${c.profile}): ${sans.join(', ') || 'no names'}`);
      continue;
    }
    const key = `${m[2]}/${m[1]}`;
    perAccount.set(key, [...(perAccount.get(key) ?? []), c.serial]);
  }
  return { stray, perAccount };
}
