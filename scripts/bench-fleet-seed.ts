/**
 * Seeds a CA instance with N live certificates for scripts/bench-fleet.ts (#21): really signed
 * leaves (the authority's LeafPreparer and the certificate encoder, with the instance's own issuer
 * key) and really signed "good" OCSP responses (StatusService.presign: the responder key and the
 * response encoder `pki serve` uses), each with its certificate.issued audit event, written
 * straight through the store in batches (synchronous=OFF while loading) instead of one durable
 * commit per certificate. Every leaf shares one key pair (a fresh one costs nothing to test here).
 * Resumable: counts what is there and adds the rest.
 */
import { generateKeyPairSync } from 'node:crypto';
import { LeafPreparer } from '../src/authority/leaf.ts';
import { LEAF_PROFILES } from '../src/authority/profiles.ts';
import { sha256Hex } from '../src/domain/hash.ts';
import { parseDuration, silentLogger, type CaInstance } from '../src/index.ts';
import { StatusService } from '../src/status/status-service.ts';
import { signCertificate } from '../src/x509/certificate.ts';
import { parseCsr } from '../src/x509/csr.ts';
import { x509 } from '../src/x509/x509.ts';

const BATCH = 2_000;

/** Live leaves of the issuer now in the database. */
export function liveCount(ca: CaInstance): number {
  return (ca.store.db.prepare(`SELECT count(*) AS n FROM certificates WHERE status = 'valid' AND profile = 'default' AND issuer = ?`).get(ca.authority.issuer.keyId) as { n: number }).n;
}

export async function seedFleet(ca: CaInstance, target: number, progress: (n: number) => void = () => {}): Promise<number> {
  const signer = await ca.keyStore.getSigner({ label: ca.config.intermediate.keyLabel });
  const leaves = new LeafPreparer({ issuer: ca.authority.issuer, issuerSpki: signer.publicKeySpki, defaultLifetimeMs: parseDuration(ca.config.issuance.lifetime), maxLifetimeMs: parseDuration(ca.config.issuance.maxLifetime), profiles: LEAF_PROFILES });
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const cryptoKeys = { privateKey: await crypto.subtle.importKey('pkcs8', keys.privateKey.export({ format: 'der', type: 'pkcs8' }), alg, false, ['sign']), publicKey: await crypto.subtle.importKey('spki', keys.publicKey.export({ format: 'der', type: 'spki' }), alg, true, ['verify']) };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=fleet', keys: cryptoKeys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'fleet.example' }])] });
  const info = await parseCsr(csr.toString('pem'));
  // Signs the responses exactly as `pki serve` does; its timers are never started.
  const status = new StatusService({ store: ca.store, authority: ca.authority, clock: ca.clock, logger: silentLogger });
  const { store } = ca;
  const insert = store.db.prepare(
    `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, der, public_key_sha256, created_at)
     VALUES (?, ?, ?, ?, 'default', ?, ?, 'valid', ?, ?, ?)`,
  );
  const sec = (d: Date) => Math.floor(d.getTime() / 1000);
  await status.responder(); // issued (durably, on its own connection) before any batch holds the write lock
  let have = liveCount(ca);
  store.db.pragma('synchronous = OFF');
  try {
    while (have < target) {
      const n = Math.min(BATCH, target - have);
      const batch: { serial: string; der: Uint8Array; r: ReturnType<LeafPreparer['prepare']> }[] = [];
      for (let i = 0; i < n; i++) {
        const r = leaves.prepare(info, { actor: 'bench' }, ca.clock.now().getTime());
        batch.push({ serial: r.template.serial, der: await signCertificate(r.template, signer), r });
      }
      const now = ca.clock.now();
      store.transaction(() => {
        for (const { serial, der, r } of batch) {
          insert.run(serial, ca.authority.issuer.keyId, r.subject, JSON.stringify(r.sans), sec(r.template.notBefore), sec(r.template.notAfter), Buffer.from(der), sha256Hex(r.template.publicKeySpki), sec(now));
          store.audit.append({ at: now, action: 'certificate.issued', actor: 'bench', target: serial, details: { profile: 'default' } });
        }
      });
      // presign reads the row it signs for, so the rows are committed first; one transaction per batch.
      store.db.exec('BEGIN');
      try {
        for (const { serial } of batch) await status.presign(serial);
        store.db.exec('COMMIT');
      } catch (e) {
        store.db.exec('ROLLBACK');
        throw e;
      }
      have += n;
      progress(have);
    }
  } finally {
    store.db.pragma('synchronous = FULL');
  }
  return have;
}
