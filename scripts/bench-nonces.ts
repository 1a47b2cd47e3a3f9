/**
 * Microbenchmark of the per-request randomness and nonce work of the ACME server:
 * NonceService.issue() and .consume() (AES-256 block tag, random bytes from the pool),
 * newId() and newToken(); and, for comparison, the previous constructions timed inline
 * (HMAC-SHA256 tag with randomBytes(10), randomBytes per id). Spent nonces go to an
 * in-memory Set, so SQLite is not measured; the clock is fixed (no Date per call).
 * Each line is the median of `rounds` rounds of `n` calls (after a warm-up round), in µs per call.
 *
 * Usage: npx tsx scripts/bench-nonces.ts [n] [rounds]   (defaults: 50000, 7)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { cpus } from 'node:os';
import { newId, newToken } from '../src/acme/ids.ts';
import { NonceService, type SpentNonces } from '../src/acme/nonces.ts';
import { fixedClock } from '../src/domain/clock.ts';

const n = Number(process.argv[2] ?? 50_000);
const rounds = Number(process.argv[3] ?? 7);

const key = randomBytes(32);
const clock = fixedClock(new Date());
const spentSet = new Set<string>();
const spent: SpentNonces = {
  spend: (nonce) => (spentSet.has(nonce) ? false : (spentSet.add(nonce), true)),
  purgeExpired: () => 0,
};
const LIFETIME = 3_600_000;

/** The previous version's nonce, built as it was: time | randomBytes(10) | HMAC-SHA256(key, time | random)[0, 16). */
function legacyIssue(): string {
  const buf = Buffer.alloc(32);
  buf.writeUIntBE(clock.now().getTime(), 0, 6);
  randomBytes(10).copy(buf, 6);
  createHmac('sha256', key).update(buf.subarray(0, 16)).digest().subarray(0, 16).copy(buf, 16);
  return buf.toString('base64url');
}

/** The previous version's consume, less nothing but the error strings. */
function legacyConsume(nonce: string): string | null {
  if (nonce.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(nonce)) return 'bad';
  const buf = Buffer.from(nonce, 'base64url');
  if (buf.length !== 32 || !timingSafeEqual(createHmac('sha256', key).update(buf.subarray(0, 16)).digest().subarray(0, 16), buf.subarray(16))) return 'bad';
  const issuedAt = buf.readUIntBE(0, 6);
  const now = clock.now().getTime();
  if (now - issuedAt > LIFETIME || issuedAt - now > 60_000) return 'bad';
  return spent.spend(nonce, issuedAt + LIFETIME) ? null : 'used';
}

/** µs per call: median over rounds (one warm-up round first). `prepare` runs untimed before each round. */
function time(label: string, op: (i: number) => unknown, prepare?: () => void): number {
  const perCall: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    prepare?.();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) op(i);
    const us = Number(process.hrtime.bigint() - t0) / 1_000 / n;
    if (r > 0) perCall.push(us);
  }
  perCall.sort((a, b) => a - b);
  const median = perCall[Math.floor(perCall.length / 2)]!;
  console.log(`${label.padEnd(56)} ${median.toFixed(2).padStart(7)} µs   (min ${perCall[0]!.toFixed(2)}, max ${perCall.at(-1)!.toFixed(2)})`);
  return median;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
}

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; ${n} calls × ${rounds} rounds, median µs per call\n`);

// Nonces issued by the previous version before this process "started", for the legacy consume path.
const legacyBatch = Array.from({ length: n }, legacyIssue);
clock.advance(1_000);
const svc = new NonceService({ key, spent, clock, lifetimeMs: LIFETIME });

let batch: string[] = [];
const fresh = (make: () => string) => () => {
  spentSet.clear();
  batch = Array.from({ length: n }, make);
};

const issueNew = time('NonceService.issue()          (AES tag, pool)', () => svc.issue());
const issueOld = time('legacy issue                  (HMAC tag, randomBytes)', () => legacyIssue());
const consumeNew = time('NonceService.consume()        (AES tag)', (i) => check(svc.consume(batch[i]!) === null, 'consume'), fresh(() => svc.issue()));
const consumeOld = time('legacy consume                (HMAC tag)', (i) => check(legacyConsume(batch[i]!) === null, 'legacy consume'), fresh(legacyIssue));
const consumeUpgrade = time('NonceService.consume()        (old nonce, upgrade path)', (i) => check(svc.consume(legacyBatch[i]!) === null, 'upgrade consume'), () => spentSet.clear());
const refused = time('NonceService.consume()        (forged, refused)', (i) => check(svc.consume(batch[i]!) !== null, 'forged'), () => {
  batch = Array.from({ length: n }, () => {
    const b = Buffer.from(svc.issue(), 'base64url');
    b[31]! ^= 1;
    return b.toString('base64url');
  });
});
console.log();
const idNew = time('newId()                       (pool, 12 bytes)', () => newId());
const idOld = time('randomBytes(12).toString(base64url)', () => randomBytes(12).toString('base64url'));
const tokNew = time('newToken()                    (pool, 32 bytes)', () => newToken());
const tokOld = time('randomBytes(32).toString(base64url)', () => randomBytes(32).toString('base64url'));

const ratio = (a: number, b: number) => `${(b / a).toFixed(1)}×`;
console.log(`\nissue ${ratio(issueNew, issueOld)} faster, consume ${ratio(consumeNew, consumeOld)} faster; newId ${ratio(idNew, idOld)}, newToken ${ratio(tokNew, tokOld)}`);
console.log(`upgrade-path consume ${consumeUpgrade.toFixed(2)} µs (AES + HMAC; only for nonces dated before start), refused forgery ${refused.toFixed(2)} µs`);
