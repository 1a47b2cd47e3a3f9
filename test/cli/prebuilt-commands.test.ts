import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInventory } from '../../src/index.ts';
import { x509 } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';
import { ocspRequestDer } from '../helpers/ocsp-request.ts';
import { freePort } from '../helpers/ports.ts';
import { createTestDatabase, dropTestDatabase, hasPostgres } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/tmp.ts';
import { builtCopy, type PackageCopy } from './prebuilt-support.ts';

/**
 * The prebuilt CLI does what the sources do, workers included. It runs from a copy of the package
 * whose *-launch.js files throw (prebuilt-support.ts): every thread and process below must start
 * from dist/cli/, as domain/runtime-files.ts resolves it in a bundled process.
 */
const env = { PKI_PASSPHRASE: 'prebuilt-cli-test-passphrase' };
/** What `pki revoke` must never load (test/cli/revoke-startup.test.ts's list). */
const SERVER_PACKAGES = /\/node_modules\/(hono|@hono\/node-server|jose|acme-client|prom-client|pkcs11js|pkijs|@peculiar\/|reflect-metadata|asn1js)/;

/** One request on a connection of its own, so the kernel may hand it to the primary or the worker. */
function post(url: string, body: Uint8Array): Promise<{ status: number; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/ocsp-request' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function primaryOcspCount(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return [...text.matchAll(/^pki_ocsp_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

async function until<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const since = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - since > ms) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the prebuilt CLI: init, audit verify, serve --ocsp-workers 1, issue, status, revoke', () => {
  let copy: PackageCopy;
  let work: string;
  beforeAll(async () => {
    copy = await builtCopy();
    work = tempDir();
  }, 60_000);

  it('ok/every command and every worker runs from dist/cli/, and answers as the sources do', async () => {
    const port = await freePort();
    const dir = join(work, 'ca');
    const init = copy.run(['init', '--dir', dir, '--url', `http://127.0.0.1:${port}`], env);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);

    // Big enough for the threads: 20,000 log entries (the start's log check) and 100,000
    // certificate rows (the inventory cross-check); pending rows are not held to the log.
    const inv = await openInventory(dir);
    inv.store.transaction(() => {
      for (let i = 0; i < 20_000; i++) inv.store.audit.append({ at: new Date(), action: 'test.filler', actor: 'test' });
    });
    inv.close();
    const db = new Database(join(dir, 'pki.db'));
    const pending = db.prepare(`INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, public_key_sha256, created_at) VALUES (?, 'x', 'CN=p', '[]', 'default', 0, 0, 'pending', 'x', 0)`);
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) pending.run(`ff${i.toString(16).padStart(12, '0')}`);
    })();
    db.close();
    const verify = copy.run(['audit', 'verify', '--dir', dir], env); // the inventory-worker thread
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toMatch(/audit trail intact: 20\d{3} rows; .*inventory agrees with the log/);
    expect(verify.status).toBe(0);
    new Database(join(dir, 'pki.db')).exec(`DELETE FROM certificates WHERE status = 'pending'`);

    const serve = copy.background(['serve', '--dir', dir, '--http-port', String(port), '--no-acme', '--ocsp-workers', '1'], /serve\.started/, env);
    try {
      const base = (JSON.parse(await serve.started) as { http: string }).http;
      const events = () => serve.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; background?: boolean; pid?: number });
      // The log-check-worker threads: the check runs in the background, and may end after the server started.
      expect(await until('the log check', () => events().find((e) => e.event === 'tlog.checked'), (e) => e !== undefined)).toMatchObject({ background: true });
      const worker = events().find((e) => e.event === 'ocsp.worker.ready');
      expect(worker?.pid).toBeTypeOf('number');
      const argv = readFileSync(`/proc/${worker!.pid}/cmdline`, 'utf8').split('\0');
      expect(argv[1]).toBe(join(copy.build.dir, 'ocsp-worker.js'));

      const csr = await makeCsr({ cn: 'svc.example', sans: [{ type: 'dns', value: 'svc.example' }] });
      writeFileSync(join(work, 'svc.csr'), csr.pem);
      const leaf = join(work, 'svc.pem');
      const issued = copy.run(['issue', '--dir', dir, '--csr', join(work, 'svc.csr'), '--out', leaf], env);
      expect(issued.status, issued.stderr).toBe(0);
      const serial = new x509.X509Certificate(readFileSync(leaf, 'utf8')).serialNumber.toLowerCase();
      const issuer = new x509.X509Certificate(readFileSync(join(dir, 'ca/intermediate.pem'), 'utf8')).rawData;
      const body = ocspRequestDer(new Uint8Array(issuer), [serial]);

      // The worker answers some of the requests on fresh connections: the primary counts fewer than were sent.
      let sent = 0;
      await until(
        'OCSP answers by the worker',
        async () => {
          for (let i = 0; i < 10; i++, sent++) expect(await post(`${base}/ocsp`, body)).toEqual({ status: 200, type: 'application/ocsp-response' });
          return sent - (await primaryOcspCount(base));
        },
        (byWorker) => byWorker > 0,
      );

      const good = copy.run(['status', '--cert', leaf]);
      expect(good.stdout).toMatch(/^OCSP +GOOD /m);
      expect(good.stdout).toMatch(/^CRL +GOOD /m);
      expect(good.status).toBe(0);

      const revoked = copy.run(['revoke', '--dir', dir, '--cert', leaf, '--reason', 'keyCompromise'], env);
      expect(revoked.status, revoked.stderr).toBe(0);
      const after = await until('pki status after pki revoke', () => copy.run(['status', '--cert', leaf, '--json']), (r) => r.status === 1 && /"crl": \{[^}]*"status": "revoked"/.test(r.stdout));
      expect(JSON.parse(after.stdout)).toMatchObject({ verdict: 'revoked', ocsp: { status: 'revoked', reason: 'keyCompromise' }, crl: { status: 'revoked', reason: 'keyCompromise' } });

      const listed = copy.run(['certs', 'list', '--dir', dir, '--json'], env);
      expect(listed.status).toBe(0);
      expect(listed.stdout).toContain(serial);

      // `pki revoke` beside a busy server loads no server, protocol or X.509 package from the bundle either
      // (revoke-startup.test.ts holds the sources to it), while `pki certs` does load them: the check sees them.
      const lean = copy.modulesLoaded(['revoke', '--dir', dir, '--serial', '0badc0de'], env);
      expect(lean.stderr).toMatch(/^pki: no certificate with serial 0badc0de/);
      expect(lean.modules.filter((m) => m.includes('/dist/cli/')).length).toBeGreaterThan(1);
      expect(lean.modules.filter((m) => SERVER_PACKAGES.test(m) || m.includes('/src/'))).toEqual([]);
      expect(copy.modulesLoaded(['certs', 'stats', '--dir', dir], env).modules.filter((m) => SERVER_PACKAGES.test(m)).length).toBeGreaterThan(0);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });
});

describe.skipIf(!hasPostgres())('the prebuilt CLI on PostgreSQL (the connection thread)', () => { // skips only locally: hasPostgres() throws when CI is set
  let copy: PackageCopy;
  let database: string;
  beforeAll(async () => {
    copy = await builtCopy();
    database = await createTestDatabase();
  }, 60_000);
  afterAll(async () => {
    if (database) await dropTestDatabase(database);
  });

  it('ok/init, issue, certs list and revoke through the bundled pg-worker.js', async () => {
    const work = tempDir();
    const dir = join(work, 'ca');
    const init = copy.run(['init', '--dir', dir, '--database', database], env);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    writeFileSync(join(work, 'a.csr'), (await makeCsr({ cn: 'a.example', sans: [{ type: 'dns', value: 'a.example' }] })).pem);
    const issued = copy.run(['issue', '--dir', dir, '--csr', join(work, 'a.csr'), '--out', join(work, 'a.pem')], env);
    expect(issued.status, issued.stderr).toBe(0);
    const serial = new x509.X509Certificate(readFileSync(join(work, 'a.pem'), 'utf8')).serialNumber.toLowerCase();
    expect(copy.run(['revoke', '--dir', dir, '--serial', serial, '--reason', 'superseded'], env).status).toBe(0);
    const listed = copy.run(['certs', 'list', '--dir', dir, '--json', '--status', 'revoked'], env);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toContain(serial);
  });
});
