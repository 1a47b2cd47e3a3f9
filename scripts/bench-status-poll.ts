/**
 * CPU cost of one status poll (StatusService.runPoll) after another process committed, with N live
 * certificates in the database: the incremental poll (audit events since the last poll, one key
 * lookup per named serial) against the full scan the poll used to run (ocspResponses.stale over
 * every live certificate of the issuer, until it comes back empty).
 *
 *   npx tsx scripts/bench-status-poll.ts [--certs 100000] [--rounds 15]
 *
 * Fixture: a throwaway CA whose database holds N valid certificates with their audit events
 * (certificate.issued) and stored responses (one real pre-signed response's DER reused), so
 * start() finds nothing to sign. A second instance on the same file plays `pki revoke`.
 *
 * Measured per poll: process CPU time (user + system) and wall time, in two phases, first the
 * poll as it is now (runPoll()), then the poll as it was (replicated below from the code before
 * the change, with the service's public parts). Each round of a phase: a revocation by the other
 * instance, then one poll; a commit that concerns no certificate (a heartbeat write, as ACME
 * traffic commits all the time), then one poll.
 * Prints the median of each (a full GC runs before every measurement) and checks that every poll
 * after a revocation left that serial's stored response revoked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crlShardFor } from '../src/domain/crl-shards.ts';
import { initInstance, openInstance, silentLogger } from '../src/index.ts';
import { OcspResponseCache } from '../src/status/ocsp-cache.ts';
import { StatusService } from '../src/status/status-service.ts';
import { StoredResponseFeed } from '../src/status/stored-responses.ts';

const PASSPHRASE = 'bench-passphrase-not-secret';
const HOUR = 3_600_000;
const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = arg('--certs', 100_000);
const ROUNDS = arg('--rounds', 15);

const work = mkdtempSync(join(tmpdir(), 'bench-status-poll-'));
try {
  const dir = join(work, 'ca');
  await initInstance({ dir, passphrase: PASSPHRASE });
  const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: PASSPHRASE } });
  const { store, clock } = ca;
  const issuer = ca.authority.issuer;
  const options = { pollIntervalMs: 24 * HOUR, maintenanceIntervalMs: 24 * HOUR, crlRebuildDelayMs: 24 * HOUR };
  const status = new StatusService({ store, authority: ca.authority, clock, logger: silentLogger, options });

  // --- fixture: N live certificates, each with its audit event and a stored response ---
  const t0 = performance.now();
  const now = Math.floor(clock.now().getTime() / 1000);
  const serials = Array.from({ length: N }, (_, i) => (0x40000000 + i).toString(16) + i.toString(16).padStart(24, '0'));
  const insertCert = store.db.prepare(
    `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, der, public_key_sha256, created_at)
     VALUES (?, ?, '', '["dns:bench.example"]', 'default', ?, ?, 'valid', x'00', '', ?)`,
  );
  store.db.pragma('synchronous = OFF'); // loading fixtures only; the polls below run as in production
  store.transaction(() => {
    for (const serial of serials) {
      insertCert.run(serial, issuer.keyId, now - 3600, now + 23 * 3600, now);
      store.audit.append({ at: clock.now(), action: 'certificate.issued', actor: 'acme:bench', target: serial, details: { profile: 'default' } });
    }
  });
  const real = await status.presign(serials[0]!); // one real response (also issues the responder)
  const stored = store.ocspResponses.get(serials[0]!)!;
  const insertResponse = store.db.prepare(
    `INSERT INTO ocsp_responses (serial, cert_status, this_update, next_update, responder, der, seq) VALUES (?, 'good', ?, ?, ?, ?, ?)`,
  );
  store.transaction(() => {
    for (let i = 1; i < N; i++) {
      insertResponse.run(serials[i]!, Math.floor(real.thisUpdateMs / 1000), Math.floor(real.nextUpdateMs / 1000), stored.responder, real.body, stored.seq + i);
    }
  });
  store.db.pragma('synchronous = FULL');
  const fixtureMs = performance.now() - t0;
  const t1 = performance.now();
  await status.start();
  await status.caughtUp;
  const startMs = performance.now() - t1;

  // --- the poll as it was before the change (src/status/status-service.ts #poll + #reconcile) ---
  const oldFeed = new StoredResponseFeed({ db: store.db, responses: store.ocspResponses, cache: new OcspResponseCache() });
  oldFeed.load();
  oldFeed.changed();
  const oldPoll = async () => {
    if (!oldFeed.changed()) return;
    oldFeed.load();
    for (;;) {
      const stale = store.ocspResponses.stale(issuer.keyId, new Date(clock.now().getTime() - status.options.expiredGraceMs), 500);
      if (stale.length === 0) break;
      for (const s of stale) {
        await status.presign(s.serial);
        if (s.status === 'revoked') status.crls.markDirty(crlShardFor(s.serial, issuer.crlShards));
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    status.crls.syncFromStore();
  };
  const newPoll = () => status.runPoll();

  // A full collection before each measurement, so no poll pays for the garbage of the one before
  // (the full scan allocates a row object per live certificate).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const measure = async (fn: () => Promise<void>): Promise<{ cpuMs: number; wallMs: number }> => {
    gc();
    await new Promise<void>((r) => setTimeout(r, 200)); // lets GC's helper threads finish (process CPU counts them)
    const c = process.cpuUsage();
    const w = performance.now();
    await fn();
    const d = process.cpuUsage(c);
    return { cpuMs: (d.user + d.system) / 1000, wallMs: performance.now() - w };
  };

  const other = await openInstance({ dir, env: { PKI_PASSPHRASE: PASSPHRASE } });
  const heartbeat = () => other.store.transaction(() => other.store.db.prepare('INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, ?)').run(Date.now()));
  const results: Record<string, { cpuMs: number; wallMs: number }[]> = { oldRevoked: [], newRevoked: [], oldIdle: [], newIdle: [] };
  let next = 1;
  const revokeElsewhere = async (): Promise<string> => {
    const serial = serials[(next++ * 7919) % N]!;
    await other.authority.revoke(serial, { reason: 'superseded', actor: 'cli' });
    return serial;
  };
  const checkRevoked = (serial: string) => {
    if (store.ocspResponses.get(serial)?.certStatus !== 'revoked') throw new Error(`${serial}: the poll did not re-sign it as revoked`);
  };
  // One phase per path, so neither pays for the other's traces: the garbage of a full scan, or the
  // page cache it filled (SQLite drops a connection's cache at the first read after another
  // connection committed, and the bigger the cache the more that costs).
  const phase = async (poll: () => Promise<void>, revoked: { cpuMs: number; wallMs: number }[], idle: { cpuMs: number; wallMs: number }[]) => {
    await poll(); // warm up (statement preparation, JIT)
    for (let r = 0; r < ROUNDS; r++) {
      const serial = await revokeElsewhere();
      revoked.push(await measure(poll));
      checkRevoked(serial);
      heartbeat();
      idle.push(await measure(poll));
    }
  };
  try {
    await phase(newPoll, results.newRevoked!, results.newIdle!);
    await phase(oldPoll, results.oldRevoked!, results.oldIdle!);
  } finally {
    await other.close();
  }
  status.stop();
  await ca.close();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const row = (label: string, key: string) => {
    const xs = results[key]!;
    return `| ${label} | ${median(xs.map((x) => x.cpuMs)).toFixed(2)} ms | ${median(xs.map((x) => x.wallMs)).toFixed(2)} ms |`;
  };
  console.log(`${N.toLocaleString('en-US')} live certificates; fixture ${Math.round(fixtureMs)} ms, start() ${Math.round(startMs)} ms; median of ${ROUNDS} rounds`);
  console.log('| one poll after another process committed | CPU | wall |');
  console.log('|---|---:|---:|');
  console.log(row('a revocation: full scan (before)', 'oldRevoked'));
  console.log(row('a revocation: audit events since the mark (now)', 'newRevoked'));
  console.log(row('no certificate change: full scan (before)', 'oldIdle'));
  console.log(row('no certificate change: audit events since the mark (now)', 'newIdle'));
} finally {
  rmSync(work, { recursive: true, force: true });
}
