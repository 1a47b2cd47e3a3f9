import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/keystore/file.ts';
import { tempDir } from '../helpers/tmp.ts';
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
