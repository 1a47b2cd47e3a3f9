import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import type { Store } from '../../src/store/store.ts';
import { normalizeSerial } from '../../src/x509/serial.ts';
import { makeCsr } from '../helpers/ca.ts';

/** One simulated workload: a Kubernetes service account and the certificate it holds now. */
export interface Workload {
  ns: string;
  sa: string;
  identifiers: string[];
  certPem: string;
  keyPem: string;
  /** As the store keys it: lowercase hex. */
  serial: string;
}

/** The identifiers the fleet's issuer template yields for system:serviceaccount:NS:SA, sorted. */
export const expected = (ns: string, sa: string) => [`dns:${sa}.${ns}.svc`, `uri:spiffe://corp/ns/${ns}/sa/${sa}`];

/**
 * A certificate's serial as the store keys it and its SubjectAltName entries as pki formats
 * identifiers (`dns:…`, `uri:…`), sorted. Read with node's (OpenSSL's) parser: a fleet's worth of
 * certificates, and not pki's own code judging pki's output.
 */
export function facts(certPem: string): { serial: string; sans: string[] } {
  const c = new X509Certificate(certPem);
  const sans = (c.subjectAltName ?? '').split(', ').filter(Boolean).map((n) => n.replace(/^DNS:/, 'dns:').replace(/^URI:/, 'uri:'));
  return { serial: normalizeSerial(c.serialNumber), sans: sans.sort() };
}

/** The first certificate (PEM) of a base64 certs-only PKCS#7 (RFC 7030 §4.2.3), read with @peculiar/asn1-cms rather than pki's own pkijs-based reader. */
function firstCertificate(base64: string): string {
  const info = AsnConvert.parse(Buffer.from(base64.replace(/\s/g, ''), 'base64'), ContentInfo);
  const cert = AsnConvert.parse(info.content, SignedData).certificates?.[0]?.certificate;
  if (!cert) throw new Error('simplereenroll answered a PKCS#7 without a certificate');
  return new X509Certificate(Buffer.from(AsnConvert.serialize(cert))).toString();
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
/** Who issues the ACME/EST listener's own certificate (src/http/acme-https/tls-certificate.ts), for acme.hostnames' defaults. */
const LISTENER = 'acme:tls-listener';
const LISTENER_NAMES = 'dns:localhost ip:127.0.0.1';

export type Renewal = { ok: true; next: Workload; replaces: string } | { ok: false; status: number; body: string };

/**
 * EST simplereenroll (RFC 7030 §4.2.2) as a workload does it: a new key and a CSR for exactly its
 * identifiers (or `ask`, to try for others), POSTed base64 on a new TLS connection whose client certificate is the one being
 * renewed (the handshake proves its key). No account, token or challenge.
 */
export async function renew(origin: string, caPem: string, w: Workload, ask = w.identifiers): Promise<Renewal> {
  const sans = ask.map((i) => (i.startsWith('uri:') ? { type: 'url' as const, value: i.slice(4) } : { type: 'dns' as const, value: i.slice(4) }));
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
  const certPem = firstCertificate(res.body);
  return { ok: true, replaces: w.serial, next: { ...w, certPem, keyPem, serial: facts(certPem).serial } };
}

/**
 * Every certificate the CA recorded, checked against the fleet's issuer template: each one but the
 * CA's own (root, intermediate, OCSP signer, and the TLS listener's certificate for its configured
 * hostnames, which `pki serve` renews itself two thirds into the fast profile's lifetime) must name exactly `expected(ns, sa)` for one service account that was entitled to it
 * (`entitled(sa)`); returns what breaks that rule (empty when nothing was issued outside it) and
 * the leaves per service account, to count enrolment + renewals.
 */
export function inventory(store: Store, entitled: (ns: string, sa: string) => boolean): { stray: string[]; perAccount: Map<string, string[]> } {
  const stray: string[] = [];
  const perAccount = new Map<string, string[]>();
  const listener = new Set(store.audit.list().filter((e) => e.action === 'certificate.issued' && e.actor === LISTENER).map((e) => e.target));
  for (const c of everyCertificate(store)) {
    if (c.status === 'failed' || CA_OWN.has(c.profile)) continue;
    if (listener.has(c.serial) && [...c.sans].sort().join(' ') === LISTENER_NAMES) continue;
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

/** Every certificate of the inventory, a keyset page at a time (`pki certs list`'s own query). */
function* everyCertificate(store: Store) {
  let after: string | undefined;
  for (;;) {
    const page = store.inventory.page({ now: new Date(), after, limit: 5000 });
    if (page.length === 0) return;
    yield* page;
    after = page.at(-1)!.serial;
  }
}
