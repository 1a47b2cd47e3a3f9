import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import { openInstance } from '../../src/index.ts';
import { makeCsr } from '../helpers/ca.ts';
import { pki } from '../helpers/cli.ts';
import { closeAllSessionsUnderneath, createTestToken, hasSoftHsm, type TestToken } from '../helpers/softhsm.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';

const available = hasSoftHsm() && hasTool('openssl');

function allFilesText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name)).toString('latin1'))
    .join('\n');
}

function opensslCsr(work: string, name: string): string {
  const csr = join(work, `${name}.csr`);
  run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(work, `${name}.key`), '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-out', csr]);
  return csr;
}

function opensslVerify(dir: string, leaf: string): string {
  return run('openssl', ['verify', '-CAfile', join(dir, 'ca/root.pem'), '-untrusted', join(dir, 'ca/intermediate.pem'), leaf]);
}

function pkcs11Flags(t: TestToken): string[] {
  return ['--key-store', 'pkcs11', '--pkcs11-module', t.module, '--pkcs11-token', t.label];
}

describe.skipIf(!available)('a CA instance with its keys on a SoftHSM2 token', () => { // skips only locally: the tool check throws when CI is set
  // Tokens are made before anything in this process loads the library, so it sees them all.
  const token = available ? createTestToken() : null!;
  const second = available ? createTestToken() : null!;
  const work = tempDir();

  it('ok/init → issue with the intermediate key on the token → openssl verify; the PIN is nowhere on disk', () => {
    const dir = join(work, 'env-pin');
    const env = { PKI_PKCS11_PIN: token.pin, PKI_PASSPHRASE: '' };
    const init = pki(['init', '--dir', dir, ...pkcs11Flags(token), '--pkcs11-pin-env', 'PKI_PKCS11_PIN'], env);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8'));
    expect(config.keyStore).toEqual({ type: 'pkcs11', module: token.module, token: token.label, pinEnv: 'PKI_PKCS11_PIN' });
    // The intermediate key is on the token, not in the instance directory; the root stays an offline file.
    expect(existsSync(join(dir, 'keys/intermediate.key.pem'))).toBe(false);
    expect(existsSync(join(dir, 'offline/root.key.pem'))).toBe(true);
    expect(allFilesText(dir)).not.toContain(token.pin);
    expect(init.stdout).not.toContain(token.pin);

    const leaf = join(work, 'leaf.pem');
    const issue = pki(['issue', '--dir', dir, '--csr', opensslCsr(work, 'web.example.internal'), '--out', leaf], env);
    expect(issue.stderr).toMatch(/issued serial/);
    expect(issue.status).toBe(0);
    expect(opensslVerify(dir, leaf)).toMatch(/: OK/);

    const keys = pki(['keys', 'list', '--dir', dir, '--json'], env);
    expect(keys.status).toBe(0);
    const rows = JSON.parse(keys.stdout) as { role: string; store: string; algorithm: string; spkiSha256: string; status: string }[];
    const certSpkiSha256 = run('sh', ['-c', `openssl x509 -in '${join(dir, 'ca/intermediate.pem')}' -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r`]).split(' ')[0]!;
    expect(rows.find((r) => r.role === 'intermediate')).toEqual(
      expect.objectContaining({ store: 'pkcs11', algorithm: 'ecdsa-p256', status: 'ok', spkiSha256: certSpkiSha256.toUpperCase().match(/../g)!.join(':') }),
    );
    expect(rows.find((r) => r.role === 'root')).toEqual(expect.objectContaining({ store: 'file', status: 'ok' }));
    expect(pki(['keys', 'list', '--dir', dir], env).stdout).toMatch(/^intermediate\s+intermediate\s+pkcs11\s+ecdsa-p256\s+ok\s/m);

    // Without the PIN the instance does not open, and says why.
    const noPin = pki(['issue', '--dir', dir, '--csr', join(work, 'web.example.internal.csr')], { PKI_PKCS11_PIN: '' });
    expect(noPin.status).toBe(1);
    expect(noPin.stderr).toMatch(/PKI_PKCS11_PIN/);
  }, 180_000);

  it('ok/--root-key-store pkcs11 with --pkcs11-pin-file: both keys on the token, no key file and no passphrase', () => {
    const other = second;
    const dir = join(work, 'pin-file');
    const pinFile = join(work, 'pin');
    writeFileSync(pinFile, other.pin + '\n', { mode: 0o600 });
    const init = pki(['init', '--dir', dir, ...pkcs11Flags(other), '--pkcs11-pin-file', pinFile, '--root-key-store', 'pkcs11', '--key-alg', 'ecdsa-p384'], { PKI_PASSPHRASE: '' });
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(init.stdout).toMatch(/root key is on the pkcs11 token/);
    expect(readdirSync(join(dir, 'offline'))).toEqual([]);
    expect(existsSync(join(dir, 'secrets/passphrase'))).toBe(false);
    const config = JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8'));
    expect(config.root).toEqual({ certificate: 'ca/root.pem', keyLabel: 'root', keyAlg: 'ecdsa-p384' });
    expect(config.keyStore.pinFile).toBe(pinFile);

    const leaf = join(work, 'leaf-384.pem');
    const issue = pki(['issue', '--dir', dir, '--csr', opensslCsr(work, 'db.example.internal'), '--out', leaf], { PKI_PASSPHRASE: '' });
    expect(issue.status).toBe(0);
    expect(opensslVerify(dir, leaf)).toMatch(/: OK/);
    const rows = JSON.parse(pki(['keys', 'list', '--dir', dir, '--json']).stdout) as { role: string; store: string; status: string }[];
    expect(rows.map((r) => [r.role, r.store, r.status])).toEqual([
      ['root', 'pkcs11', 'ok'],
      ['intermediate', 'pkcs11', 'ok'],
    ]);
  }, 180_000);

  it('fail/init with the wrong PIN: clear error, exit 1, nothing written', () => {
    const dir = join(work, 'wrong-pin');
    const r = pki(['init', '--dir', dir, ...pkcs11Flags(token), '--pkcs11-pin-env', 'PKI_PKCS11_PIN'], { PKI_PKCS11_PIN: 'wrong-pin-123' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/wrong PIN/);
    expect(r.stderr).not.toContain('wrong-pin-123');
    expect(existsSync(dir)).toBe(false);
  });

  it('fail/usage: pkcs11 flags missing or inconsistent are named', () => {
    const dir = join(work, 'usage');
    expect(pki(['init', '--dir', dir, '--key-store', 'pkcs11', '--pkcs11-token', 'x', '--pkcs11-pin-env', 'P']).stderr).toMatch(/needs --pkcs11-module/);
    expect(pki(['init', '--dir', dir, '--key-store', 'pkcs11', '--pkcs11-module', token.module, '--pkcs11-pin-env', 'P']).stderr).toMatch(/exactly one of --pkcs11-token/);
    expect(pki(['init', '--dir', dir, ...pkcs11Flags(token)]).stderr).toMatch(/--pkcs11-pin-env NAME or --pkcs11-pin-file/);
    expect(pki(['init', '--dir', dir, '--root-key-store', 'pkcs11']).stderr).toMatch(/needs --key-store pkcs11/);
    expect(existsSync(dir)).toBe(false);
  }, 180_000);

  it('ok/sessions closed underneath a running instance: the next issuance still succeeds and verifies', async () => {
    const dir = join(work, 'env-pin');
    const ca = await openInstance({ dir, env: { PKI_PKCS11_PIN: token.pin } });
    try {
      const first = await ca.authority.issue((await makeCsr({ cn: 'a.example.internal', sans: [{ type: 'dns', value: 'a.example.internal' }] })).pem);
      closeAllSessionsUnderneath(token);
      const second = await ca.authority.issue((await makeCsr({ cn: 'b.example.internal', sans: [{ type: 'dns', value: 'b.example.internal' }] })).pem);
      for (const cert of [first, second]) {
        const file = join(work, `${cert.serial}.pem`);
        writeFileSync(file, cert.pem);
        expect(opensslVerify(dir, file)).toMatch(/: OK/);
      }
      expect(ca.store.certificates.get(second.serial)?.status).toBe('valid');
    } finally {
      await ca.close();
    }
  });

  it('fail/the intermediate key destroyed underneath: issuance fails cleanly with a keyStore error, nothing valid is stored', async () => {
    const dir = join(work, 'env-pin');
    const ca = await openInstance({ dir, env: { PKI_PKCS11_PIN: token.pin } });
    try {
      const p11 = new pkcs11js.PKCS11();
      p11.load(token.module);
      const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === token.label)!;
      const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      p11.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: 'intermediate' },
      ]);
      const [key] = p11.C_FindObjects(session, 1);
      p11.C_FindObjectsFinal(session);
      p11.C_DestroyObject(session, key!);
      p11.C_CloseSession(session);

      const before = ca.store.inventory.page({ status: 'valid', now: new Date(), limit: 1_000_000 }).length;
      const err = await ca.authority.issue((await makeCsr({ cn: 'c.example.internal', sans: [{ type: 'dns', value: 'c.example.internal' }] })).pem).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'keyStore', detail: expect.stringMatching(/signing key "intermediate" is no longer on the PKCS#11 token/) });
      expect(ca.store.inventory.page({ status: 'valid', now: new Date(), limit: 1_000_000 }).length).toBe(before);
    } finally {
      await ca.close();
    }
  });
});
