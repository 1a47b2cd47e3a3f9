import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initInstance, openInstance, silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { makeCsr } from '../helpers/ca.ts';
import { closeAllSessionsUnderneath, createTestToken, hasSoftHsm, type TestToken } from '../helpers/softhsm.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run, runStatus } from '../helpers/tools.ts';

const available = hasSoftHsm() && hasTool('openssl');

/**
 * openssl asynchronously: `openssl ocsp` queries the server running in this very process, so a
 * synchronous spawn would block the event loop that has to answer it.
 */
function opensslAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('openssl', args, { timeout: 20_000 }, (err, stdout, stderr) => resolve({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}


/**
 * The whole life of a certificate with the intermediate key on the token, checked by openssl:
 * init → issue → OCSP good → revoke → CRL lists it → OCSP revoked. Every CA signature on the way
 * (leaf, OCSP responder certificate, CRL) is made by the token, and the token's sessions are
 * pulled away twice in the middle.
 */
describe.skipIf(!available)('vertical run on a SoftHSM2 token, verified with openssl', () => { // skips only locally: the tool check throws when CI is set
  const token = available ? createTestToken() : null!;
  const work = tempDir();
  const dir = join(work, 'ca');
  let ca: CaInstance;
  let server: RunningServer;
  let serial: string;
  const files = { root: join(work, 'root.pem'), inter: join(work, 'intermediate.pem'), leaf: join(work, 'leaf.pem'), crl: join(work, 'crl.der') };

  beforeAll(async () => {
    if (!available) return;
    await initInstance({ dir, passphrase: 'vertical-passphrase', keyStore: { type: 'pkcs11', settings: { module: token.module, token: token.label, pinEnv: 'VERTICAL_PIN' }, secret: token.pin } });
    ca = await openInstance({ dir, env: { VERTICAL_PIN: token.pin } });
    server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: false, status: { pollIntervalMs: 100, crlRebuildDelayMs: 20 } });
    writeFileSync(files.root, ca.root.toString('pem') + '\n');
    writeFileSync(files.inter, ca.intermediate.toString('pem') + '\n');
  });
  afterAll(async () => {
    await server?.close();
    await ca?.close();
  });

  const ocsp = () =>
    opensslAsync(['ocsp', '-issuer', files.inter, '-cert', files.leaf, '-url', `${server.httpUrl}/ocsp`, '-CAfile', files.root, '-no_nonce']);

  /** The CRL named in the leaf's CDP, fetched from the test server (the CDP host is the configured base URL). */
  async function fetchCrl(): Promise<string> {
    const cdp = /URI:(\S+)/.exec(run('openssl', ['x509', '-in', files.leaf, '-noout', '-ext', 'crlDistributionPoints']))![1]!;
    const res = await fetch(`${server.httpUrl}${new URL(cdp).pathname}`);
    expect(res.status).toBe(200);
    writeFileSync(files.crl, Buffer.from(await res.arrayBuffer()));
    return run('openssl', ['crl', '-inform', 'DER', '-in', files.crl, '-CAfile', files.inter, '-noout', '-text']);
  }

  it('ok/issue with the key on the token: openssl verifies the chain', async () => {
    const cert = await ca.authority.issue((await makeCsr({ cn: 'svc.example.internal', sans: [{ type: 'dns', value: 'svc.example.internal' }] })).pem);
    serial = cert.serial;
    writeFileSync(files.leaf, cert.pem);
    expect(run('openssl', ['verify', '-CAfile', files.root, '-untrusted', files.inter, files.leaf])).toMatch(/: OK/);
  });

  it('ok/OCSP says good, signed by a responder the token certified', async () => {
    const r = await ocsp();
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/leaf\.pem: good/);
  });

  it('ok/sessions closed underneath, then revoke: the CRL (signed on the token) lists the serial and verifies', async () => {
    closeAllSessionsUnderneath(token);
    await ca.authority.revoke(serial, { reason: 'keyCompromise' });
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await fetchCrl();
      if (text.toUpperCase().includes(serial.toUpperCase())) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase())).toContain(serial.toLowerCase());
    expect(text).toMatch(/Key Compromise/);
    // `openssl crl -CAfile` checks the CRL signature against the intermediate (whose key is on the token).
    const verify = runStatus('openssl', ['crl', '-inform', 'DER', '-in', files.crl, '-CAfile', files.inter, '-noout']);
    expect(verify.stderr).toMatch(/verify OK/);
  });

  it('ok/OCSP says revoked with the reason', async () => {
    let r = await ocsp();
    for (let i = 0; i < 50 && !/leaf\.pem: revoked/.test(r.stdout); i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await ocsp();
    }
    expect(r.stderr).toContain('Response verify OK');
    expect(r.stdout).toMatch(/leaf\.pem: revoked/);
    expect(r.stdout).toMatch(/Reason: keyCompromise/);
  });

  it('ok/sessions closed underneath again: the next issuance through the running server still succeeds', async () => {
    closeAllSessionsUnderneath(token);
    const cert = await ca.authority.issue((await makeCsr({ cn: 'after.example.internal', sans: [{ type: 'dns', value: 'after.example.internal' }] })).pem);
    writeFileSync(files.leaf, cert.pem);
    expect(run('openssl', ['verify', '-CAfile', files.root, '-untrusted', files.inter, files.leaf])).toMatch(/: OK/);
    let r = await ocsp();
    for (let i = 0; i < 50 && !/leaf\.pem: good/.test(r.stdout); i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await ocsp();
    }
    expect(r.stdout).toMatch(/leaf\.pem: good/);
  });
});
