import { spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useWorkloadTestEnv } from './support.ts';
import { freePort } from '../helpers/ports.ts';
import { PKI_BIN, pkiAsync as pki } from '../helpers/cli.ts';
import { x509 } from '../../src/x509/x509.ts';
import { TEST_PASSPHRASE } from '../helpers/ca.ts';
import { FileKeyStore } from '../../src/keystore/file.ts';
import { renewalReason } from '../../src/client/renew.ts';
import { isRevoked } from '../../src/client/revocation.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';

/**
 * The workload side end to end, through the real CLI in child processes:
 * init → serve → enroll (http-01) → renew not due → forced renew with hook →
 * revoke → renew replaces.
 */
const work = tempDir();
const env = useWorkloadTestEnv(work, { requireEab: false });

const serialOf = (dir: string) => new X509Certificate(readFileSync(join(dir, 'cert.pem'))).serialNumber.toLowerCase();

/** The key and certificate in `dir` belong together and chain to the root. */
function expectMatchingPair(dir: string): void {
  const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
  expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'key.pem'))))).toBe(true);
  if (hasTool('openssl')) {
    expect(run('openssl', ['verify', '-CAfile', env.rootFile, '-untrusted', join(dir, 'chain.pem'), join(dir, 'cert.pem')])).toMatch(/: OK/);
  }
}

describe('pki enroll + pki renew', () => {
  const out = join(work, 'svc');
  const marker = join(work, 'hook-ran');

  it('ok/enroll over http-01 writes a matching pair, 0600 key, and the renewal state', async () => {
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', 'svc.internal', '--ip', '127.0.0.1', '--out', out, '--http-port', String(env.http01Port), '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout) as { action: string; serial: string; names: string[] };
    expect(line.action).toBe('enrolled');
    expect(statSync(join(out, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(readlinkSync(join(out, 'key.pem'))).toBe('current/key.pem');
    expect(serialOf(out)).toBe(line.serial);
    expectMatchingPair(out);
    const cert = new X509Certificate(readFileSync(join(out, 'cert.pem')));
    expect(cert.subjectAltName).toBe('DNS:svc.internal, IP Address:127.0.0.1');
    expect(JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'))).toMatchObject({ challenge: 'http-01', httpPort: env.http01Port, identifiers: [{ type: 'dns', value: 'svc.internal' }, { type: 'ip', value: '127.0.0.1' }] });
    expect(env.ca.store.certificates.get(line.serial)?.status).toBe('valid');
  });

  it('ok/renew when not due changes nothing, prints nothing, runs no hook', async () => {
    const before = serialOf(out);
    const r = await pki(['renew', '--out', out, '--exec', `echo ran >> ${marker}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(serialOf(out)).toBe(before);
    expect(existsSync(marker)).toBe(false);
  });

  it('ok/--force renews: new serial, new key, hook ran once', async () => {
    const before = serialOf(out);
    const keyBefore = readFileSync(join(out, 'key.pem'), 'utf8');
    const r = await pki(['renew', '--out', out, '--force', '--exec', `echo ran >> ${marker}`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout) as { action: string; reason: string; previousSerial: string; serial: string; hook: { ran: boolean; ok: boolean } };
    expect(line).toMatchObject({ action: 'renewed', reason: 'forced', previousSerial: before, hook: { ran: true, ok: true } });
    expect(serialOf(out)).toBe(line.serial);
    expect(line.serial).not.toBe(before);
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).not.toBe(keyBefore);
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');
    expectMatchingPair(out);
  });

  it('ok/after revocation, renew sees it and replaces the pair', async () => {
    const revoked = serialOf(out);
    const pair = () => ({ keyPem: readFileSync(join(out, 'key.pem'), 'utf8'), certPem: readFileSync(join(out, 'cert.pem'), 'utf8'), chainPem: readFileSync(join(out, 'chain.pem'), 'utf8') });
    const rootPem = readFileSync(env.rootFile, 'utf8');
    // Without ARI, the OCSP check alone decides: good before the revocation, revoked after.
    expect((await renewalReason(pair(), rootPem, { renewBefore: 1 / 3, now: new Date(), isRevoked })).reason).toBeNull();
    await env.ca.authority.revoke(revoked, { reason: 'keyCompromise', actor: 'test' });
    let reason: string | null = null;
    for (let i = 0; i < 50 && reason === null; i++) {
      reason = (await renewalReason(pair(), rootPem, { renewBefore: 1 / 3, now: new Date(), isRevoked })).reason;
      if (reason === null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reason).toBe('revoked');
    const r = await pki(['renew', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout) as { action: string; reason: string; serial: string };
    expect(line.action).toBe('renewed');
    expect(['revoked', 'ari-window']).toContain(line.reason);
    expect(serialOf(out)).not.toBe(revoked);
    expectMatchingPair(out);
  });

  it('fail/bad input: unreachable server, wrong fingerprint, no names → one-line error, exit 1, old files untouched', async () => {
    const before = readFileSync(join(out, 'cert.pem'), 'utf8');
    const deadPort = await freePort();
    const unreachable = await pki(['enroll', '--server', `https://127.0.0.1:${deadPort}/acme/directory`, '--root', env.rootFile, '--name', 'svc.internal', '--out', out]);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(/^pki: cannot reach the ACME server \(ECONNREFUSED\)/);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);

    const wrongFp = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root-fingerprint', 'ab'.repeat(32), '--name', 'svc.internal', '--out', join(work, 'fp')]);
    expect(wrongFp.status).toBe(1);
    expect(wrongFp.stderr).toMatch(/^pki: .*(fingerprint|root)/);

    const noNames = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', out]);
    expect(noNames.status).toBe(1);
    expect(noNames.stderr).toMatch(/name at least one identity/);
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toBe(before);
  });

  it('ok/trust bootstrapped from the root fingerprint alone', async () => {
    const fp = new X509Certificate(readFileSync(env.rootFile)).fingerprint256;
    const dir = join(work, 'bootstrapped');
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root-fingerprint', fp, '--name', 'boot.internal', '--out', dir, '--http-port', String(env.http01Port)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^enrolled: serial [0-9a-f]+ for DNS:boot.internal/);
    expect(readFileSync(join(dir, 'root.pem'), 'utf8')).toBe(readFileSync(env.rootFile, 'utf8'));
    expectMatchingPair(dir);
  });
});

describe('crash safety of pki renew', () => {
  it('ok/SIGKILL at random points over 20 forced renewals never leaves a mismatched pair', async () => {
    const out = join(work, 'crashy');
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', 'crashy.internal', '--out', out, '--http-port', String(env.http01Port)]);
    expect(r.status, r.stderr).toBe(0);
    // Kill points spread over the whole run: calibrate on one uninterrupted renewal.
    const t0 = performance.now();
    expect((await pki(['renew', '--out', out, '--force'])).status).toBe(0);
    const runMs = performance.now() - t0;
    const serials = new Set<string>([serialOf(out)]);
    let killed = 0;
    for (let i = 0; i < 20; i++) {
      const child = spawn(process.execPath, [PKI_BIN, 'renew', '--out', out, '--force'], { stdio: 'ignore' });
      // Every fourth run is left to complete, so completions are exercised whatever the box's speed
      // does to the calibration; the others are killed anywhere from process start to past the end.
      const delay = i % 4 === 3 ? Infinity : Math.floor(runMs * (0.02 + Math.random() * 1.1));
      const timer = setTimeout(() => {
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          killed++;
        }
      }, Math.min(delay, 2 ** 31 - 1));
      await new Promise((res) => child.on('exit', res));
      clearTimeout(timer);
      expectMatchingPair(out);
      serials.add(serialOf(out));
    }
    // Some runs were cut short and some completed: both kinds of outcome were exercised.
    expect(killed).toBeGreaterThan(0);
    expect(serials.size).toBeGreaterThan(1);
    // A lock left by a killed run does not block the next one.
    const after = await pki(['renew', '--out', out, '--force', '--json']);
    expect(after.status, after.stderr).toBe(0);
    expectMatchingPair(out);
  }, 180_000);
});

describe('mutual TLS between two enrolled services', () => {
  it('ok/handshake verifies against the root; fails once the client certificate is revoked and the server checks the CRL', async () => {
    const a = join(work, 'svc-a');
    const b = join(work, 'svc-b');
    for (const [dir, name] of [[a, 'svc-a.internal'], [b, 'svc-b.internal']] as const) {
      const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', name, '--out', dir, '--http-port', String(env.http01Port)]);
      expect(r.status, r.stderr).toBe(0);
    }
    const crlUrl = () => {
      const cdp = new x509.X509Certificate(readFileSync(join(b, 'cert.pem'), 'utf8')).getExtension(x509.CRLDistributionPointsExtension)!;
      const url = new URL(cdp.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!); // served by this test's server
      return url.toString();
    };
    // OpenSSL (inside Node's TLS) checks CRLs for the whole chain once any is given, so the
    // offline root's CRL for the intermediate is made here, as a root key ceremony would.
    const rootSigner = await new FileKeyStore(join(env.ca.dir, 'offline'), TEST_PASSPHRASE).getSigner({ label: 'root' });
    const rootCrl = await x509.X509CrlGenerator.create({
      issuer: env.ca.root.subjectName,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 86_400_000),
      entries: [],
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      signingKey: rootSigner.cryptoKey!.key,
      extensions: [new x509.AuthorityKeyIdentifierExtension(env.ca.root.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId)],
    });
    const toCrlPem = (der: Uint8Array) => `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END X509 CRL-----\n`;
    // Node loads one CRL per array element.
    const crlPem = async () => [toCrlPem(new Uint8Array(await (await fetch(crlUrl())).arrayBuffer())), toCrlPem(new Uint8Array(rootCrl.rawData))];
    const handshake = async (crl: string[]) => {
      const srv = createTlsServer({
        key: readFileSync(join(a, 'key.pem')),
        cert: readFileSync(join(a, 'fullchain.pem')),
        ca: readFileSync(env.rootFile),
        crl,
        requestCert: true,
        rejectUnauthorized: true,
      }, (s) => s.end('hello'));
      srv.on('tlsClientError', () => {});
      await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
      const port = (srv.address() as { port: number }).port;
      try {
        return await new Promise<string>((resolve, reject) => {
          const sock = tlsConnect({
            host: '127.0.0.1',
            port,
            servername: 'svc-a.internal',
            key: readFileSync(join(b, 'key.pem')),
            cert: readFileSync(join(b, 'fullchain.pem')),
            ca: readFileSync(env.rootFile),
          });
          let data = '';
          sock.on('data', (d) => (data += d.toString()));
          sock.on('end', () => resolve(data));
          sock.on('error', reject);
        });
      } finally {
        srv.close();
      }
    };
    expect(await handshake(await crlPem())).toBe('hello');

    const serial = serialOf(b);
    await env.ca.authority.revoke(serial, { reason: 'keyCompromise', actor: 'test' });
    // The CRL is rebuilt within seconds of a revocation.
    let crl: string[] = [];
    for (let i = 0; i < 50; i++) {
      crl = await crlPem();
      const parsed = new x509.X509Crl(crl[0]!);
      if (parsed.entries.some((e) => e.serialNumber.toLowerCase() === serial)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The server refuses the revoked client: the client sees an alert or a closed connection, never the reply.
    expect(await handshake(crl).catch((e: Error) => `refused: ${e.message}`)).not.toBe('hello');
  });
});
