import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { runAsync } from '../helpers/run-async.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';

const HAVE_OPENSSL = hasTool('openssl');
const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };

/** One request on a connection of its own (agent: false), so the kernel may hand it to any of the processes. */
function fresh(url: string, o: { method?: string; body?: Buffer } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', agent: false, headers: o.body ? { 'Content-Type': 'application/ocsp-request' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe.runIf(HAVE_OPENSSL)('pki serve --ocsp-workers 2 against openssl ocsp', () => { // skips only locally: the tool check throws when CI is set
  let dir: string;
  let work: string;
  let base: string;
  let serve: ReturnType<typeof pkiBackground>;
  const leaf = (name: string) => join(work, `${name}.pem`);
  const reqDer = (name: string) => readFileSync(join(work, `${name}.req`));

  beforeAll(async () => {
    const ca = await createTestCa();
    dir = ca.dir;
    work = tempDir();
    writeFileSync(join(work, 'root.pem'), ca.root.toString('pem') + '\n');
    writeFileSync(join(work, 'intermediate.pem'), ca.intermediate.toString('pem') + '\n');
    for (const name of ['good', 'revoked']) {
      const cert = await ca.authority.issue((await makeCsr({ cn: `${name}.example`, sans: [{ type: 'dns', value: `${name}.example` }] })).pem);
      writeFileSync(leaf(name), cert.pem);
    }
    await ca.close();
    for (const name of ['good', 'revoked']) {
      const r = await runAsync('openssl', ['ocsp', '-issuer', join(work, 'intermediate.pem'), '-cert', leaf(name), '-no_nonce', '-reqout', join(work, `${name}.req`)]);
      expect(r.status).toBe(0);
    }
    serve = pkiBackground(['serve', '--dir', dir, '--http-port', '0', '--no-acme', '--ocsp-workers', '2'], /serve\.started/, env);
    base = JSON.parse(await serve.started).http as string;
  }, 60_000);
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  const ask = (cert: string, ...extra: string[]) =>
    runAsync('openssl', ['ocsp', '-timeout', '10', '-issuer', join(work, 'intermediate.pem'), '-cert', cert, '-url', `${base}/ocsp`, '-CAfile', join(work, 'root.pem'), ...extra]);

  /** GET over a fresh connection, the answer checked by openssl (-respin). */
  async function viaGet(name: string): Promise<string> {
    const res = await fresh(`${base}/ocsp/${encodeURIComponent(reqDer(name).toString('base64'))}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/ocsp-response');
    const file = join(work, `${name}-${Math.random().toString(36).slice(2)}.resp`);
    writeFileSync(file, res.body);
    const r = await runAsync('openssl', ['ocsp', '-respin', file, '-issuer', join(work, 'intermediate.pem'), '-cert', leaf(name), '-CAfile', join(work, 'root.pem')]);
    expect(r.stderr).toContain('Response verify OK');
    return r.stdout;
  }

  it('ok/starts the workers before it reports started', () => {
    const ready = serve.output().stdout.split('\n').filter((l) => l.includes('ocsp.worker.ready'));
    expect(ready).toHaveLength(2);
  });

  it('ok/good by POST (openssl) and by GET on many fresh connections', async () => {
    const r = await ask(leaf('good'), '-no_nonce');
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/good\.pem: good/);
    for (let i = 0; i < 12; i++) expect(await viaGet('good')).toMatch(/good\.pem: good/);
    // POST with the same bytes on fresh connections: every process gives the same pre-signed answer.
    const bodies = new Set<string>();
    for (let i = 0; i < 12; i++) bodies.add((await fresh(`${base}/ocsp`, { method: 'POST', body: reqDer('good') })).body.toString('base64'));
    expect(bodies.size).toBe(1);
    // The primary counts only what it answered itself: of 24+ requests, the workers took some.
    const metrics = (await fresh(`${base}/metrics`)).body.toString();
    const counted = [...metrics.matchAll(/^pki_ocsp_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(counted).toBeLessThan(25);
  });

  it('ok/revoked with its reason on every process within seconds of `pki revoke` in another process', async () => {
    // Asked on many connections first, so every process holds the "good" answer it must then forget.
    for (let i = 0; i < 12; i++) expect(await viaGet('revoked')).toMatch(/revoked\.pem: good/);
    const rv = await pkiAsync(['revoke', '--dir', dir, '--cert', leaf('revoked'), '--reason', 'keyCompromise'], env);
    expect(rv.status).toBe(0);
    const since = Date.now();
    let streak = 0;
    // 12 answers in a row over fresh connections (spread over the primary and both workers) must all say revoked.
    while (streak < 12 && Date.now() - since < 5_000) {
      const out = await viaGet('revoked');
      streak = /revoked\.pem: revoked/.test(out) ? streak + 1 : 0;
      if (streak) expect(out).toMatch(/Reason: keyCompromise/);
    }
    expect(streak).toBe(12);
    const post = await ask(leaf('revoked'), '-no_nonce');
    expect(post.stdout).toMatch(/revoked\.pem: revoked/);
    expect(post.stdout).toMatch(/Reason: keyCompromise/);
  });

  it('ok/unknown for a serial this CA never issued (passed on to the primary)', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await runAsync('openssl', ['ocsp', '-timeout', '10', '-issuer', join(work, 'intermediate.pem'), '-serial', '0x4a11ce0000000000000000000000beef', '-url', `${base}/ocsp`, '-CAfile', join(work, 'root.pem'), '-no_nonce']);
      expect(r.stderr).toContain('Response verify OK');
      expect(r.stdout).toMatch(/0x4A11CE0000000000000000000000BEEF: unknown/i);
    }
    const req = join(work, 'unknown.req');
    expect((await runAsync('openssl', ['ocsp', '-issuer', join(work, 'intermediate.pem'), '-serial', '0x4a11ce0000000000000000000000beef', '-no_nonce', '-reqout', req])).status).toBe(0);
    for (let i = 0; i < 6; i++) {
      const res = await fresh(`${base}/ocsp/${encodeURIComponent(readFileSync(req).toString('base64'))}`);
      const file = join(work, `unknown-${i}.resp`);
      writeFileSync(file, res.body);
      const r = await runAsync('openssl', ['ocsp', '-respin', file, '-issuer', join(work, 'intermediate.pem'), '-serial', '0x4a11ce0000000000000000000000beef', '-CAfile', join(work, 'root.pem')]);
      expect(r.stderr).toContain('Response verify OK');
      expect(r.stdout).toMatch(/: unknown/i);
    }
  });

  it('ok/a nonce request is answered with the nonce (signed by the primary)', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await ask(leaf('good'), '-resp_text');
      expect(r.stderr).toContain('Response verify OK');
      expect(r.stderr).not.toMatch(/nonce/i);
      expect(r.stdout).toMatch(/OCSP Nonce/);
      expect(r.stdout).toMatch(/good\.pem: good/);
    }
  });

  it('ok/CA certificates, CRL and health are still served, whichever process takes the connection', async () => {
    const x = await runAsync('openssl', ['x509', '-in', leaf('good'), '-noout', '-ext', 'crlDistributionPoints']);
    const cdp = new URL(/URI:(\S+\.crl)/.exec(x.stdout)![1]!);
    for (let i = 0; i < 6; i++) {
      const chain = await fresh(`${base}/ca/chain.pem`);
      expect(chain.status).toBe(200);
      expect(chain.body.toString()).toContain('BEGIN CERTIFICATE');
      const crl = await fresh(`${base}${cdp.pathname}`);
      expect(crl.status).toBe(200);
      expect(crl.headers['content-type']).toBe('application/pkix-crl');
      const file = join(work, `crl-${i}.der`);
      writeFileSync(file, crl.body);
      expect((await runAsync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-CAfile', join(work, 'intermediate.pem')])).stderr).toMatch(/verify OK/);
      expect((await fresh(`${base}/healthz`)).status).toBe(200);
      expect((await fresh(`${base}/nope`)).status).toBe(404);
    }
  });

  it('regression/a POST body far over the limit gets malformedRequest from whichever process takes it, never a reset; an over-long GET path gets an HTTP answer', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await fresh(`${base}/ocsp`, { method: 'POST', body: Buffer.alloc(2 << 20, 0x30) });
      expect([r.status, r.body.toString('hex')]).toEqual([200, '30030a0101']);
    }
    for (const n of [12_000, 15_000]) {
      const r = await fresh(`${base}/ocsp/${'A'.repeat(n)}`);
      expect([r.status, r.body.toString('hex')]).toEqual([200, '30030a0101']);
    }
    // Past node:http's 16 KiB header limit: 431, whichever process (primary or worker) takes the connection.
    for (let i = 0; i < 6; i++) expect((await fresh(`${base}/ocsp/${'A'.repeat(200_000)}`)).status).toBe(431);
  });

  it('ok/SIGTERM to the primary stops the workers too', async () => {
    const pids = serve
      .output()
      .stdout.split('\n')
      .filter((l) => l.includes('ocsp.worker.ready'))
      .map((l) => JSON.parse(l).pid as number);
    expect(pids).toHaveLength(2);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).toEqual([]);
  });
});
