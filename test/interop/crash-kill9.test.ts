import Database from 'better-sqlite3';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRevocation, fromPem, initInstance, normalizeSerial } from '../../src/index.ts';
import { startChallengeServer } from '../acme/support/challenge-server.ts';
import { startDnsServer, type TestDnsServer } from '../acme/support/dns-server.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { LeanAcmeClient } from '../../scripts/bench/lean-client.ts';

/**
 * Crash safety of the real `pki serve` under load (DESIGN "two-phase issuance"): concurrent
 * ACME clients order certificates while the server is SIGKILLed at a random moment, several
 * rounds in a row. Afterwards every certificate a client received is in the database as
 * `valid` with the same bytes and has a signed OCSP response, and no serial is left
 * `pending`: each one the kills left behind was reconciled (failed + audit row) and logged.
 */
const ROUNDS = 4;
const WORKERS = 4;
const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };
const dir = join(tempDir('pki-crash-'), 'ca');
let dns: TestDnsServer;
let web: Awaited<ReturnType<typeof startChallengeServer>>;
let httpPort: number;
let acmePort: number;
let rootPem: string;
const logs: string[] = [];

function serve() {
  const p = pkiBackground(['serve', '--dir', dir, '--http-port', String(httpPort), '--acme-port', String(acmePort), '--http01-port', String(web.port), '--dns-server', dns.address], /serve\.started/, env);
  return { ...p, directory: p.started.then((line) => (JSON.parse(line) as { acmeDirectory: string }).acmeDirectory) };
}

interface Received {
  serial: string;
  der: Uint8Array;
}

/** One client ordering certificates one after another until the server goes away. */
async function worker(directoryUrl: string, tag: string, received: Received[]): Promise<void> {
  const client = new LeanAcmeClient(rootPem, 4, { timeoutMs: 10_000 });
  try {
    await client.directory(directoryUrl);
    if ((await client.newAccount()).status !== 201) return;
    for (let i = 0; ; i++) {
      const name = `${tag}-${i}.crash.test`;
      const csr = fromPem((await makeCsr({ sans: [{ type: 'dns', value: name }] })).pem, 'CERTIFICATE REQUEST')[0]!;
      const chain = await client.order(name, csr, (t, k) => web.set(t, k));
      const der = fromPem(chain, 'CERTIFICATE')[0]!;
      received.push({ serial: normalizeSerial(new X509Certificate(der).serialNumber), der });
    }
  } catch {
    // The server was killed under us: whatever was not fully received does not count.
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  httpPort = await freePort();
  acmePort = await freePort();
  await initInstance({ dir, passphrase: TEST_PASSPHRASE, baseUrl: `http://127.0.0.1:${httpPort}`, requireEab: false });
  // A short grace so reservations the kills leave behind are reconciled within the test's time.
  const config = JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8')) as { issuance: Record<string, unknown> };
  config.issuance.pendingGrace = '2s';
  writeFileSync(join(dir, 'pki.json'), JSON.stringify(config, null, 2));
  rootPem = readFileSync(join(dir, 'ca/root.pem'), 'utf8');
  dns = await startDnsServer();
  web = await startChallengeServer();
});
afterAll(async () => {
  await web?.close();
  await dns?.close();
});

describe('pki serve killed with SIGKILL under ACME load', () => {
  it(`ok/${ROUNDS} kill -9 rounds lose no certificate, leave every one with an OCSP answer, and no pending serial unexplained`, async () => {
    const received: Received[] = [];
    const killedAfter: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const server = serve();
      const directoryUrl = await server.directory;
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(directoryUrl, `r${round}w${w}`, received));
      // The first round lets at least one certificate through (so the checks below are never vacuous on a slow machine).
      if (round === 0) await expect.poll(() => received.length, { timeout: 30_000, interval: 50 }).toBeGreaterThan(0);
      // A random moment: early (mid account creation) to late (many orders in flight).
      const delay = 300 + Math.floor(Math.random() * 1700);
      killedAfter.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      server.child.kill('SIGKILL');
      await server.exited;
      await Promise.all(workers);
      logs.push(server.output().stdout);
    }
    const context = `kills after ${killedAfter.join(', ')} ms; ${received.length} certificates received`;
    expect(received.length, context).toBeGreaterThan(0);

    // Restart: the reconciler explains what the kills left pending (at startup, or once older than the grace).
    const server = serve();
    try {
      await server.directory;
      const db = new Database(join(dir, 'pki.db'), { readonly: true });
      try {
        const pending = () => (db.prepare(`SELECT serial FROM certificates WHERE status = 'pending'`).all() as { serial: string }[]).map((r) => r.serial);
        await expect.poll(pending, { timeout: 15_000, interval: 250 }).toEqual([]);

        // Every certificate a client received is stored, valid, byte for byte.
        const row = db.prepare('SELECT status, der FROM certificates WHERE serial = ?');
        for (const r of received) {
          const stored = row.get(r.serial) as { status: string; der: Buffer } | undefined;
          expect(stored?.status, `${r.serial} (${context})`).toBe('valid');
          expect(Buffer.compare(stored!.der, Buffer.from(r.der)), r.serial).toBe(0);
        }

        // Serials that never became valid were marked failed, each with an audit row saying why.
        const failed = (db.prepare(`SELECT serial FROM certificates WHERE status = 'failed'`).all() as { serial: string }[]).map((r) => r.serial);
        const explained = db.prepare(`SELECT count(*) AS n FROM audit_events WHERE target = ? AND action IN ('certificate.abandoned', 'certificate.failed')`);
        for (const s of failed) expect((explained.get(s) as { n: number }).n, s).toBeGreaterThan(0);
        // …and the abandoned ones were logged by a serve process as issuance.reconciled.
        const abandoned = (db.prepare(`SELECT target FROM audit_events WHERE action = 'certificate.abandoned'`).all() as { target: string }[]).map((r) => r.target);
        await expect
          .poll(() => {
            const all = [...logs, server.output().stdout].join('\n').split('\n').filter((l) => l.includes('"issuance.reconciled"'));
            const logged = new Set(all.flatMap((l) => (JSON.parse(l) as { abandoned: string[] }).abandoned));
            return abandoned.filter((s) => !logged.has(s));
          }, { timeout: 5_000 })
          .toEqual([]);
      } finally {
        db.close();
      }

      // Every received certificate has a signed OCSP answer from the restarted server: good.
      const issuerDer = fromPem(readFileSync(join(dir, 'ca/intermediate.pem'), 'utf8'), 'CERTIFICATE')[0]!;
      const answers = await Promise.all(received.map((r) => checkRevocation({ certDer: r.der, issuerDer, timeoutMs: 10_000 })));
      answers.forEach((a, i) => expect(a.ocsp.status, `${received[i]!.serial}: ${a.ocsp.detail}`).toBe('good'));
      // The restart extended and signed the transparency log over what the kills left (#17): every received certificate is provably in it.
      for (const r of received) expect((await fetch(`http://127.0.0.1:${httpPort}/log/proof/inclusion?serial=${r.serial}`)).status, r.serial).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    const verified = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(verified.status, verified.stderr).toBe(0);
  }, 90_000);
});
