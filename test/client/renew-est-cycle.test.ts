import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pki, pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';

/**
 * Renewal cycles through the real CLI against a real `pki serve` (child processes): enroll over
 * ACME http-01, then `pki renew --force` renews by the current certificate over EST several times
 * (no challenge: nothing listens for http-01 any more), each new certificate recorded as replacing
 * the one before; after `pki revoke`, the next renew cannot use EST and goes through ACME.
 */
const work = tempDir();
const dir = join(work, 'ca');
const out = join(work, 'svc');
const env = { PKI_PASSPHRASE: '' };
let serve: ReturnType<typeof pkiBackground>;
let directory = '';
let http01Port = 0;

const serialOf = () => new X509Certificate(readFileSync(join(out, 'cert.pem'))).serialNumber.toLowerCase();
const replacesOf = (serial: string) => {
  const db = new Database(join(dir, 'pki.db'), { readonly: true });
  try {
    return (db.prepare('SELECT replaces FROM certificates WHERE serial = ?').get(serial) as { replaces: string | null }).replaces;
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  const httpPort = await freePort();
  http01Port = await freePort();
  expect(pki(['init', '--dir', dir, '--url', `http://127.0.0.1:${httpPort}`], env).status).toBe(0);
  const config = JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8'));
  config.acme = { ...config.acme, requireEab: false };
  writeFileSync(join(dir, 'pki.json'), JSON.stringify(config, null, 2));
  serve = pkiBackground(['serve', '--dir', dir, '--host', '127.0.0.1', '--http-port', String(httpPort), '--acme-port', '0', '--http01-port', String(http01Port)], /serve\.started/, env);
  directory = (JSON.parse(await serve.started) as { acmeDirectory: string }).acmeDirectory;
  writeFileSync(join(work, 'root.pem'), await (await fetch(`http://127.0.0.1:${httpPort}/ca/root.pem`)).text());
});

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe('pki renew by the current certificate (EST simplereenroll) against pki serve', () => {
  it('ok/three forced renewals go over EST, each with a new key, each replacing the one before', async () => {
    const e = await pkiAsync(['enroll', '--server', directory, '--root', join(work, 'root.pem'), '--ip', '127.0.0.1', '--out', out, '--http-port', String(http01Port), '--json']);
    expect(e.status, e.stderr).toBe(0);
    let previous = serialOf();
    let previousKey = readFileSync(join(out, 'key.pem'), 'utf8');
    for (let i = 0; i < 3; i++) {
      const r = await pkiAsync(['renew', '--out', out, '--force', '--json']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const line = JSON.parse(r.stdout) as { action: string; via: string; previousSerial: string; serial: string; names: string[] };
      expect(line).toMatchObject({ action: 'renewed', via: 'est', previousSerial: previous, names: ['IP Address:127.0.0.1'] });
      expect(serialOf()).toBe(line.serial);
      expect(replacesOf(line.serial)).toBe(previous);
      const key = readFileSync(join(out, 'key.pem'), 'utf8');
      expect(key).not.toBe(previousKey);
      if (hasTool('openssl')) expect(run('openssl', ['verify', '-CAfile', join(work, 'root.pem'), '-untrusted', join(out, 'chain.pem'), join(out, 'cert.pem')])).toMatch(/: OK/);
      previous = line.serial;
      previousKey = key;
    }
  });

  it('ok/a revoked certificate is not renewed over EST: pki renew replaces it through ACME', async () => {
    const revoked = serialOf();
    expect(pki(['revoke', '--dir', dir, '--serial', revoked, '--reason', 'keyCompromise'], env).status).toBe(0);
    const r = await pkiAsync(['renew', '--out', out, '--force', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/renewal by the current certificate did not happen \(EST simplereenroll answered 403: certificate .* was revoked/);
    const line = JSON.parse(r.stdout) as { via: string; serial: string };
    expect(line.via).toBe('acme');
    expect(replacesOf(line.serial)).toBeNull();
  });
});
