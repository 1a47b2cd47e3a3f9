import { createPrivateKey } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initInstance } from '../../src/index.ts';
import { pki } from '../helpers/cli.ts';
import { TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';

interface Row {
  role: string;
  label: string;
  store: string;
  algorithm: string;
  spkiSha256: string;
  status: string;
  location: string;
}

describe('pki keys list (file key store)', () => {
  const work = tempDir();
  const dir = join(work, 'ca');
  const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };
  const list = () => {
    const r = pki(['keys', 'list', '--dir', dir, '--json'], env);
    return { ...r, rows: r.stdout ? (JSON.parse(r.stdout) as Row[]) : [] };
  };

  it('ok/root and intermediate with store, algorithm and the SPKI SHA-256 openssl computes', async () => {
    await initInstance({ dir, passphrase: TEST_PASSPHRASE, keyAlg: 'ecdsa-p384' });
    const r = list();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.rows.map((k) => [k.role, k.label, k.store, k.algorithm, k.status])).toEqual([
      ['root', 'root', 'file', 'ecdsa-p384', 'ok'],
      ['intermediate', 'intermediate', 'file', 'ecdsa-p384', 'ok'],
    ]);
    if (hasTool('openssl')) {
      for (const [role, cert] of [['root', 'ca/root.pem'], ['intermediate', 'ca/intermediate.pem']] as const) {
        const hex = run('sh', ['-c', `openssl x509 -in '${join(dir, cert)}' -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r`]).split(' ')[0]!;
        expect(r.rows.find((k) => k.role === role)!.spkiSha256).toBe(hex.toUpperCase().match(/../g)!.join(':'));
      }
    }
    const table = pki(['keys', 'list', '--dir', dir], env).stdout;
    expect(table).toMatch(/^ROLE\s+LABEL\s+STORE\s+ALGORITHM\s+STATUS\s+SPKI SHA-256\s+LOCATION$/m);
    expect(table).toMatch(/^intermediate\s+intermediate\s+file\s+ecdsa-p384\s+ok\s+([0-9A-F]{2}:){31}[0-9A-F]{2}\s/m);
  });

  it('ok/a root key moved offline is listed as offline, from the root certificate', () => {
    renameSync(join(dir, 'offline/root.key.pem'), join(work, 'root.key.pem'));
    const r = list();
    expect(r.status).toBe(0);
    expect(r.rows.find((k) => k.role === 'root')).toMatchObject({ store: 'file', status: 'offline' });
  });

  it('fail/a key that does not match its certificate is a mismatch, exit 1', () => {
    copyFileSync(join(dir, 'ca/root.pem'), join(dir, 'ca/intermediate.pem'));
    const r = list();
    expect(r.status).toBe(1);
    expect(r.rows.find((k) => k.role === 'intermediate')).toMatchObject({ status: 'mismatch' });
  });

  it('fail/the wrong passphrase is a clear error', () => {
    const r = pki(['keys', 'list', '--dir', dir], { PKI_PASSPHRASE: 'not-the-passphrase' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/wrong passphrase/);
  });
});

describe('pki keys rewrap (file key store)', () => {
  const work = tempDir();
  const dir = join(work, 'ca');
  const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };

  it('ok/key files at the old KDF setting (PBKDF2, 2,048 iterations) are re-encrypted, the same keys, still readable by openssl', async () => {
    await initInstance({ dir, passphrase: TEST_PASSPHRASE });
    // Re-encrypt both key files the way the store wrote them before: Node's default PBES2 (2,048 iterations).
    for (const file of ['keys/intermediate.key.pem', 'offline/root.key.pem']) {
      const key = createPrivateKey({ key: readFileSync(join(dir, file), 'utf8'), passphrase: TEST_PASSPHRASE });
      writeFileSync(join(dir, file), key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: TEST_PASSPHRASE }), { mode: 0o600 });
    }
    const before = pki(['keys', 'list', '--dir', dir, '--json'], env).stdout;
    const r = pki(['keys', 'rewrap', '--dir', dir], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Only the root file may have been re-wrapped by `keys list` unlocking it first; both are current now.
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['re-wrapped offline/root.key.pem']);
    expect(pki(['keys', 'rewrap', '--dir', dir], env).stdout).toBe('every key file is at the current KDF setting\n');
    expect(pki(['keys', 'list', '--dir', dir, '--json'], env).stdout).toBe(before);
    if (hasTool('openssl')) {
      for (const file of ['keys/intermediate.key.pem', 'offline/root.key.pem']) {
        const params = run('openssl', ['asn1parse', '-in', join(dir, file)]);
        expect(params).toMatch(/INTEGER\s+:0*927C0\s/); // 600,000 iterations
        expect(run('openssl', ['pkey', '-in', join(dir, file), '-passin', `pass:${TEST_PASSPHRASE}`, '-noout'])).toBe('');
      }
    }
  });

  it('fail/the wrong passphrase is a clear error and rewrites nothing', () => {
    const file = readFileSync(join(dir, 'keys/intermediate.key.pem'));
    const r = pki(['keys', 'rewrap', '--dir', dir], { PKI_PASSPHRASE: 'not-the-passphrase' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/wrong passphrase/);
    expect(readFileSync(join(dir, 'keys/intermediate.key.pem')).equals(file)).toBe(true);
  });
});
