/**
 * Transparency log benchmarks (#17). Usage:
 *   npx tsx scripts/bench-tlog.ts append [count]      CPU per log append (leaf + completed subtrees), and per checkpoint
 *   npx tsx scripts/bench-tlog.ts seed <dir> [count]  an instance whose log holds `count` issued certificates (default 1,000,000),
 *                                                     seeded directly (rows, chain, tree) and signed; then: pki audit verify --dir <dir>
 *   npx tsx scripts/bench-tlog.ts proofs <dir>        in-process inclusion-proof latency on that instance
 *   npx tsx scripts/bench-tlog.ts real <dir> [count]  an instance with `count` really issued leaves (default 600), for wrk
 *                                                     against pki serve: tiles, proofs and pre-signed OCSP side by side
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initInstance, openInstance } from '../src/index.ts';
import { auditHash } from '../src/store/audit.ts';
import { auditEntry } from '../src/tlog/entry.ts';
import { buildLevels, inclusionProof, leafHash } from '../src/tlog/merkle.ts';

const passphrase = 'bench-passphrase';
const env = { PKI_PASSPHRASE: passphrase };
const [mode, arg1, arg2] = process.argv.slice(2);
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function append(count: number): Promise<void> {
  const dir = join(mkdtempSync(join(tmpdir(), 'pki-bench-tlog-')), 'ca');
  await initInstance({ dir, passphrase });
  const ca = await openInstance({ dir, env });
  const db = ca.store.db;
  const log = ca.store.audit.log;
  const insert = db.prepare('INSERT INTO audit_events (id, at, action, actor, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  let id = ca.store.audit.lastId();
  // One transaction per event, as an issuance commits its audit row: the audit insert is outside the timed part.
  let logCpu = 0;
  for (let i = 0; i < count; i++) {
    const e = { id: ++id, at: Date.now(), action: 'certificate.issued', actor: 'acme:bench', target: randomBytes(16).toString('hex'), details: JSON.stringify({ profile: 'default', sans: [`dns:svc-${i}.bench`], notAfter: new Date().toISOString(), issuer: 'ab'.repeat(20), sha256: randomBytes(32).toString('hex') }) };
    ca.store.transaction(() => {
      insert.run(e.id, e.at, e.action, e.actor, e.target, e.details, '', '');
      const c0 = process.cpuUsage();
      log.appendEvent(e);
      logCpu += cpuMs(process.cpuUsage(c0));
    });
  }
  const signs = 50;
  const c1 = process.cpuUsage();
  for (let i = 0; i < signs; i++) {
    ca.store.transaction(() => {
      const e = { id: ++id, at: Date.now(), action: 'bench', actor: 'bench', target: null, details: '{}' };
      insert.run(e.id, e.at, e.action, e.actor, e.target, e.details, '', '');
      log.appendEvent(e);
    });
    await ca.authority.log!.signNow();
  }
  const signCpu = cpuMs(process.cpuUsage(c1)) / signs;
  console.log(JSON.stringify({ mode: 'append', count, appendCpuMs: +(logCpu / count).toFixed(4), checkpointCpuMs: +signCpu.toFixed(3), addedCpuMsPerIssuanceAt100PerS: +(logCpu / count + signCpu / 100).toFixed(4) }));
  await ca.close();
  rmSync(join(dir, '..'), { recursive: true, force: true });
}

async function seed(dir: string, count: number): Promise<void> {
  await initInstance({ dir, passphrase });
  const db = new Database(join(dir, 'pki.db'));
  const last = db.prepare('SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1').get() as { id: number; hash: string };
  const issuer = (db.prepare("SELECT issuer FROM certificates WHERE profile = 'intermediate'").get() as { issuer: string }).issuer;
  const t0 = performance.now();
  const der = randomBytes(600);
  const sha = (await import('node:crypto')).createHash('sha256').update(der).digest('hex');
  const insAudit = db.prepare('INSERT INTO audit_events (id, at, action, actor, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insCert = db.prepare("INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, der, public_key_sha256, created_at) VALUES (?, ?, '', '[]', 'default', 0, 4102444800, 'valid', ?, '', 0)");
  let prev = last.hash;
  const now = Date.now();
  const batch = 50_000;
  for (let start = 0; start < count; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(count, start + batch); i++) {
        const serial = (0x40 + (i % 0x3f)).toString(16) + i.toString(16).padStart(30, '0');
        const row = { id: last.id + 1 + i, at: now, action: 'certificate.issued', actor: 'acme:bench', target: serial, details: JSON.stringify({ profile: 'default', issuer, sha256: sha }) };
        const hash = auditHash(prev, row);
        insAudit.run(row.id, row.at, row.action, row.actor, row.target, row.details, prev, hash);
        insCert.run(serial, issuer, der);
        prev = hash;
      }
    })();
  }
  // The tree, from every event (init's own included), as the appends would have stored it.
  const rows = db.prepare('SELECT id, at, action, actor, target, details FROM audit_events ORDER BY id').all() as Parameters<typeof auditEntry>[0][];
  const levels = buildLevels(Buffer.concat(rows.map((r) => leafHash(auditEntry(r)))));
  db.exec('DELETE FROM tlog_nodes; DELETE FROM tlog_checkpoints;'.replace('DELETE FROM tlog_nodes;', 'DROP TRIGGER tlog_nodes_no_delete; DELETE FROM tlog_nodes;'));
  const insNode = db.prepare('INSERT INTO tlog_nodes (level, idx, hash) VALUES (?, ?, ?)');
  db.transaction(() => levels.forEach((l, level) => {
    for (let i = 0; i * 32 < l.length; i++) insNode.run(level, i, l.subarray(i * 32, i * 32 + 32));
  }))();
  db.exec("CREATE TRIGGER tlog_nodes_no_delete BEFORE DELETE ON tlog_nodes BEGIN SELECT RAISE(ABORT, 'tlog_nodes is append-only'); END;");
  db.close();
  const ca = await openInstance({ dir, env });
  await ca.authority.log!.signNow();
  await ca.close();
  console.log(JSON.stringify({ mode: 'seed', count, entries: rows.length, seconds: +((performance.now() - t0) / 1000).toFixed(1) }));
}

async function proofs(dir: string): Promise<void> {
  const ca = await openInstance({ dir, env });
  const log = ca.store.audit.log;
  const size = log.latestCheckpoint()!.size;
  const serials = (ca.store.db.prepare("SELECT target FROM audit_events WHERE action = 'certificate.issued' ORDER BY random() LIMIT 2000").all() as { target: string }[]).map((r) => r.target);
  const lat: number[] = [];
  for (const s of serials) {
    const t = performance.now();
    inclusionProof(log.reader, log.issuanceIndex(s)!, size);
    log.entries(log.issuanceIndex(s)!, 1);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const p = (q: number) => +lat[Math.floor(q * (lat.length - 1))]!.toFixed(3);
  const t = performance.now();
  const check = await ca.authority.log!.check();
  console.log(JSON.stringify({ mode: 'proofs', size, inclusionMs: { p50: p(0.5), p99: p(0.99), max: p(1) }, startCheckSeconds: +((performance.now() - t) / 1000).toFixed(2), startCheckOk: check.ok, sampleSerial: serials[0] }));
  await ca.close();
}

async function real(dir: string, count: number): Promise<void> {
  await initInstance({ dir, passphrase });
  const ca = await openInstance({ dir, env });
  const { x509 } = await import('../src/x509/x509.ts');
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  let last = '';
  for (let i = 0; i < count; i++) {
    const keys = (await crypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: `svc-${i}.bench.internal` }])] });
    const issued = await ca.authority.issue(csr.toString('pem'));
    last = issued.pem;
  }
  (await import('node:fs')).writeFileSync(join(dir, 'last-leaf.pem'), last);
  await ca.close();
  console.log(JSON.stringify({ mode: 'real', count, leaf: join(dir, 'last-leaf.pem') }));
}

if (mode === 'real' && arg1) await real(arg1, Number(arg2 ?? 600));
else if (mode === 'append') await append(Number(arg1 ?? 5000));
else if (mode === 'seed' && arg1) await seed(arg1, Number(arg2 ?? 1_000_000));
else if (mode === 'proofs' && arg1) await proofs(arg1);
else {
  console.error('usage: bench-tlog.ts append [count] | seed <dir> [count] | proofs <dir>');
  process.exit(2);
}
