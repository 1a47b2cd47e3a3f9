import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initInstance } from '../../src/index.ts';
import { LAYOUT } from '../../src/instance/layout.ts';
import { FileKeyStore } from '../../src/keystore/file.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run, runStatus } from '../helpers/tools.ts';
import { keyStoreContract } from './contract.ts';

const dir = tempDir();

keyStoreContract({
  name: 'file',
  open: async (secret) => new FileKeyStore(dir, secret),
  secret: 'correct horse battery staple',
  wrongSecret: 'wrong horse battery staple',
  algs: ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'],
});

describe('file key store at rest', () => {
  it('writes encrypted PKCS#8 with mode 0600', async () => {
    const ks = new FileKeyStore(dir, 'correct horse battery staple');
    await ks.createKey({ label: 'at-rest', alg: 'ecdsa-p256' });
    const path = join(dir, 'at-rest.key.pem');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  });

  it('refuses a passphrase shorter than 8 characters', () => {
    expect(() => new FileKeyStore(dir, 'short')).toThrow(/at least 8/);
  });
});

const PASS = 'correct horse battery staple';
const hasOpenssl = hasTool('openssl');

/** What openssl (not our parser) sees in a key file: its PBES2 PRF and iteration count. */
function kdfOf(path: string): { prf: string; iterations: number } {
  const out = run('openssl', ['asn1parse', '-in', path]);
  const prf = /OBJECT\s+:(hmacWith\w+)/.exec(out)?.[1] ?? 'hmacWithSHA1';
  // PBKDF2-params: salt OCTET STRING, then iterationCount INTEGER (openssl prints it in hex).
  const iter = /OCTET STRING\s+\[HEX DUMP\]:\w+\n.*INTEGER\s+:([0-9A-F]+)/.exec(out)?.[1];
  return { prf, iterations: parseInt(iter ?? '0', 16) };
}

/** A key file as earlier versions wrote it: Node's export, i.e. OpenSSL's default 2,048 PBKDF2 iterations. */
function writeLegacyKey(path: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }), { mode: 0o600 });
  return publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
}

describe.skipIf(!hasOpenssl)('file key store KDF (PBKDF2-HMAC-SHA256, 600,000 iterations)', () => { // skips only locally: hasTool() throws when CI is set
  it('ok/a new key file uses the current KDF setting and openssl reads it with the passphrase', async () => {
    const d = tempDir();
    const ks = new FileKeyStore(d, PASS);
    const info = await ks.createKey({ label: 'kdf', alg: 'ecdsa-p256' });
    const path = join(d, 'kdf.key.pem');
    expect(kdfOf(path)).toEqual({ prf: 'hmacWithSHA256', iterations: 600_000 });
    const pub = run('openssl', ['pkey', '-in', path, '-passin', `pass:${PASS}`, '-pubout']);
    expect(createPublicKey(pub).export({ type: 'spki', format: 'der' }).equals(Buffer.from(info.publicKeySpki))).toBe(true);
    expect(runStatus('openssl', ['pkey', '-in', path, '-passin', 'pass:wrong passphrase', '-noout']).status).not.toBe(0);
  });

  it('ok/a key file at the old setting is re-wrapped on first unlock: same key, current KDF, 0600, no temp file left', async () => {
    const d = tempDir();
    const path = join(d, 'old.key.pem');
    const spki = writeLegacyKey(path);
    expect(kdfOf(path)).toEqual({ prf: 'hmacWithSHA256', iterations: 2048 });
    const ks = new FileKeyStore(d, PASS);
    const signer = await ks.getSigner({ label: 'old' });
    expect(Buffer.from(signer.publicKeySpki).toString('hex')).toBe(spki);
    expect(kdfOf(path)).toEqual({ prf: 'hmacWithSHA256', iterations: 600_000 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['old.key.pem']);
    // openssl still reads it, and it is the same key.
    const pub = run('openssl', ['pkey', '-in', path, '-passin', `pass:${PASS}`, '-pubout']);
    expect(createPublicKey(pub).export({ type: 'spki', format: 'der' }).toString('hex')).toBe(spki);
    expect(await new FileKeyStore(d, PASS).rewrapKeys()).toEqual([]);
  });

  it('ok/rewrapKeys re-wraps every old file explicitly and reports which', async () => {
    const d = tempDir();
    writeLegacyKey(join(d, 'a.key.pem'));
    writeLegacyKey(join(d, 'b.key.pem'));
    const ks = new FileKeyStore(d, PASS);
    await ks.createKey({ label: 'c', alg: 'ecdsa-p256' });
    expect((await ks.rewrapKeys()).sort()).toEqual(['a', 'b']);
    for (const l of ['a', 'b', 'c']) expect(kdfOf(join(d, `${l}.key.pem`)).iterations).toBe(600_000);
    expect(await ks.rewrapKeys()).toEqual([]);
  });

  it('fail/a wrong passphrase on an old file is a clear error and leaves the file as it was', async () => {
    const d = tempDir();
    const path = join(d, 'old.key.pem');
    writeLegacyKey(path);
    const before = readFileSync(path);
    await expect(new FileKeyStore(d, 'not the passphrase').getSigner({ label: 'old' })).rejects.toMatchObject({ kind: 'keyStore', detail: expect.stringMatching(/wrong passphrase/) });
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('ok/the root key written by init uses the current setting', async () => {
    const d = join(tempDir(), 'ca');
    await initInstance({ dir: d, passphrase: PASS });
    expect(kdfOf(join(d, LAYOUT.rootKeyDir, `${LAYOUT.rootKeyLabel}.key.pem`))).toEqual({ prf: 'hmacWithSHA256', iterations: 600_000 });
  });
});
