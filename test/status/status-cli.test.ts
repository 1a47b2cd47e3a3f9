import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initInstance, openInstance, startServer, silentLogger, type CaInstance, type RunningServer } from '../../src/index.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { PKI_BIN } from '../helpers/cli.ts';
import { runAsync } from '../helpers/run-async.ts';
import { tempDir } from '../helpers/tmp.ts';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

describe('pki status (OCSP from the AIA, CRL from the CDP)', () => {
  let ca: CaInstance;
  let server: RunningServer;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    const port = await freePort();
    // The URLs written into certificates must reach this server.
    await initInstance({ dir: join(dir, 'ca'), passphrase: TEST_PASSPHRASE, baseUrl: `http://127.0.0.1:${port}` });
    ca = await openInstance({ dir: join(dir, 'ca'), env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
    server = await startServer(ca, { host: '127.0.0.1', port, logger: silentLogger, acme: false, status: { crlRebuildDelayMs: 20 } });
    for (const name of ['good', 'bad']) {
      const cert = await ca.authority.issue((await makeCsr({ cn: `${name}.example`, sans: [{ type: 'dns', value: `${name}.example` }] })).pem);
      writeFileSync(join(dir, `${name}.pem`), cert.pem);
      writeFileSync(join(dir, `${name}.serial`), cert.serial);
    }
    writeFileSync(join(dir, 'intermediate.pem'), ca.intermediate.toString('pem'));
  });
  afterAll(async () => {
    await server?.close().catch(() => {});
    await ca?.close();
  });

  const status = (...args: string[]) => runAsync(process.execPath, [PKI_BIN, 'status', ...args]);

  it('ok/a good certificate: both sources say good, exit 0 (issuer fetched from the AIA)', async () => {
    const r = await status('--cert', join(dir, 'good.pem'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^OCSP +GOOD .*\/ocsp\n.*signed by delegated responder .*nonce echoed/m);
    expect(r.stdout).toMatch(/^CRL +GOOD .*\/crl\/[0-9a-f]+\/0\.crl\n.*CRL number \d+, 0 entries, signed by the issuer/m);
  });

  it('fail/a revoked certificate: both sources say revoked with the reason, exit 1', async () => {
    const serial = (await import('node:fs')).readFileSync(join(dir, 'bad.serial'), 'utf8');
    await ca.authority.revoke(serial, { reason: 'affiliationChanged' });
    await server.status.crls.flush();
    await new Promise((r) => setTimeout(r, 100));
    const r = await status('--cert', join(dir, 'bad.pem'), '--issuer', join(dir, 'intermediate.pem'), '--json');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/REVOKED/);
    const j = JSON.parse(r.stdout) as { verdict: string; ocsp: { status: string; reason: string }; crl: { status: string; reason: string } };
    expect(j.verdict).toBe('revoked');
    expect(j.ocsp.status).toBe('revoked');
    expect(j.ocsp.reason).toBe('affiliationChanged');
    expect(j.crl.status).toBe('revoked');
    expect(j.crl.reason).toBe('affiliationChanged');
  });

  it('fail/the wrong issuer is bad input: exit 2', async () => {
    writeFileSync(join(dir, 'root.pem'), ca.root.toString('pem'));
    const r = await status('--cert', join(dir, 'good.pem'), '--issuer', join(dir, 'root.pem'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^pki: .*good\.pem was not signed by/);
  });

  it('fail/garbage input: one clear line naming the file, exit 2, for --cert and --issuer alike', async () => {
    writeFileSync(join(dir, 'empty.pem'), '');
    writeFileSync(join(dir, 'text.txt'), 'hello, I am not a certificate\n');
    writeFileSync(join(dir, 'random.der'), Buffer.from([0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x05]));
    writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n');
    const cases: [string[], RegExp][] = [
      [['--cert', join(dir, 'empty.pem')], /empty\.pem is empty, not a certificate/],
      [['--cert', join(dir, 'text.txt')], /text\.txt is not an X\.509 certificate/],
      [['--cert', join(dir, 'random.der')], /random\.der is not an X\.509 certificate/],
      [['--cert', join(dir, 'key.pem')], /key\.pem holds no PEM certificate/],
      [['--cert', join(dir, 'broken.pem')], /broken\.pem is not an X\.509 certificate/],
      [['--cert', dir], /cannot read .*: it is a directory/],
      [['--cert', join(dir, 'missing.pem')], /cannot read .*missing\.pem: no such file/],
      [['--cert', join(dir, 'good.pem'), '--issuer', join(dir, 'text.txt')], /text\.txt is not an X\.509 certificate/],
      [['--cert', join(dir, 'good.pem'), '--issuer', dir], /it is a directory/],
    ];
    const results = await Promise.all(cases.map(([args]) => status(...args)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^pki: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    // A missing --cert is a usage error too.
    expect((await status()).status).toBe(2);
  });

  it('fail/the CA is down: exit 3 ("could not check", not "revoked"), and the error names the URL', async () => {
    await server.close();
    // Issuer from the AIA: the caIssuers URL is the first thing that cannot be reached.
    const fetched = await status('--cert', join(dir, 'good.pem'));
    expect(fetched.status).toBe(3);
    expect(fetched.stderr).toMatch(/^pki: cannot get the issuer certificate \(AIA caIssuers\): cannot reach http:\/\/127\.0\.0\.1:\d+\/\S+: ECONNREFUSED\n$/);
    // Issuer given: both sources fail, each named with its URL.
    const r = await status('--cert', join(dir, 'bad.pem'), '--issuer', join(dir, 'intermediate.pem'), '--json');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^pki: could not check: .*OCSP http:\/\/127\.0\.0\.1:\d+\/ocsp: cannot reach http:\/\/127\.0\.0\.1:\d+\/ocsp: ECONNREFUSED; CRL http:\/\/127\.0\.0\.1:\d+\/crl\/\S+: cannot reach/);
    expect(r.stderr).not.toMatch(/unexpected error|fetch failed/);
    expect((JSON.parse(r.stdout) as { verdict: string }).verdict).toBe('unchecked');
  });

  it('ok/--help documents the exit codes', async () => {
    const r = await status('--help');
    expect(r.status).toBe(0);
    for (const code of ['0  good', '1  REVOKED', '2  usage or bad input', '3  could not check']) expect(r.stdout).toContain(code);
  });
});
