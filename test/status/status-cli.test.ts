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
    await server?.close();
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

  it('fail/a revoked certificate: both sources say revoked with the reason, non-zero exit', async () => {
    const serial = (await import('node:fs')).readFileSync(join(dir, 'bad.serial'), 'utf8');
    await ca.authority.revoke(serial, { reason: 'affiliationChanged' });
    await server.status.crls.flush();
    await new Promise((r) => setTimeout(r, 100));
    const r = await status('--cert', join(dir, 'bad.pem'), '--issuer', join(dir, 'intermediate.pem'), '--json');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/REVOKED/);
    const j = JSON.parse(r.stdout) as { ocsp: { status: string; reason: string }; crl: { status: string; reason: string } };
    expect(j.ocsp.status).toBe('revoked');
    expect(j.ocsp.reason).toBe('affiliationChanged');
    expect(j.crl.status).toBe('revoked');
    expect(j.crl.reason).toBe('affiliationChanged');
  });

  it('fail/the wrong issuer is refused', async () => {
    writeFileSync(join(dir, 'root.pem'), ca.root.toString('pem'));
    const r = await status('--cert', join(dir, 'good.pem'), '--issuer', join(dir, 'root.pem'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not signed by/);
  });
});
