/**
 * scripts/bench-fleet-miss.ts: what one OCSP miss costs in SQL at fleet scale (#21), statement by
 * statement, on a database seeded by scripts/bench-fleet.ts (read-only; nothing is written):
 *
 *   node --import tsx scripts/bench-fleet-miss.ts /tmp/ocsp21/fleet/n1000000/pki.db [--reads 50000] [--cache-kib 2000,8192,16384]
 *
 * Each statement reads the same random serials (after a warm-up of as many others), in the order
 * listed, so their µs are comparable within one run; `--cache-kib` repeats the served statement
 * with other page-cache sizes.
 */
import Database from 'better-sqlite3';
import { OcspResponseRepository } from '../src/store/ocsp-responses.ts';

const path = process.argv[2];
if (!path || path.startsWith('--')) throw new Error('usage: bench-fleet-miss.ts <pki.db> [--reads N] [--cache-kib K,K]');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const READS = Number(arg('reads', '50000'));
const db = new Database(path, { readonly: true, fileMustExist: true });
const serials = db.prepare('SELECT serial FROM ocsp_responses ORDER BY random() LIMIT ?').pluck().all(2 * READS) as string[];
const rowidOf = db.prepare('SELECT rowid FROM ocsp_responses WHERE serial = ?').pluck();
const rowids = serials.map((s) => rowidOf.get(s) as number);
const repo = new OcspResponseRepository(db);
const now = new Date();
const nowSec = Math.floor(now.getTime() / 1000);

const statements: [string, (i: number) => unknown][] = [];
const add = (name: string, sql: string, args: (i: number) => unknown[]) => {
  const st = db.prepare(sql).raw();
  statements.push([name, (i) => st.get(...args(i))]);
};
add('before #21 second pass: response joined to the certificate row, SELECT r.*', `SELECT r.* FROM ocsp_responses r JOIN certificates c ON c.serial = r.serial WHERE r.serial = ? AND r.next_update > ? AND (c.status = 'revoked') = (r.cert_status = 'revoked')`, (i) => [serials[i], nowSec]);
add('same join, three columns', `SELECT r.der, r.this_update, r.next_update FROM ocsp_responses r JOIN certificates c ON c.serial = r.serial WHERE r.serial = ? AND r.next_update > ? AND (c.status = 'revoked') = (r.cert_status = 'revoked')`, (i) => [serials[i], nowSec]);
add('response by primary key only (no status check)', 'SELECT der, this_update, next_update FROM ocsp_responses WHERE serial = ?', (i) => [serials[i]]);
add('response by rowid (an in-memory serial → rowid index)', 'SELECT der, this_update, next_update FROM ocsp_responses WHERE rowid = ?', (i) => [rowids[i]]);
add("the certificate row's status by primary key", 'SELECT status FROM certificates WHERE serial = ?', (i) => [serials[i]]);
add('"revoked?" on the covering certificates_inventory', `SELECT 1 FROM certificates INDEXED BY certificates_inventory WHERE status = 'revoked' AND serial = ?`, (i) => [serials[i]]);
statements.push(['served: OcspResponseRepository.current', (i) => repo.current(serials[i]!, now)]);

const time = (f: (i: number) => unknown) => {
  for (let i = READS; i < 2 * READS; i++) f(i); // warm-up on other serials
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < READS; i++) f(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / READS;
};
for (const [name, f] of statements) process.stdout.write(`| ${name} | ${time(f).toFixed(2)} |\n`);
for (const kib of arg('cache-kib', '').split(',').filter(Boolean)) {
  db.pragma(`cache_size = -${Number(kib)}`);
  process.stdout.write(`| served, cache_size ${kib} KiB | ${time((i) => repo.current(serials[i]!, now)).toFixed(2)} |\n`);
}
db.close();
