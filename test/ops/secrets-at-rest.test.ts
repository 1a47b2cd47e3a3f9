import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acmeSecretKeys } from '../../src/acme/secret-key.ts';
import { PKI_BIN, pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';

const work = tempDir();
const dir = join(work, 'ca');
const init = pki(['init', '--dir', dir], { PKI_PASSPHRASE: '' });
const keyFile = join(dir, 'secrets/acme.key');

describe('secrets/acme.key', () => {
  it('ok/created on first use: 32 random bytes, mode 0600', async () => {
    expect(init.status, init.stderr).toBe(0);
    const first = await acmeSecretKeys(dir);
    expect(readFileSync(keyFile)).toHaveLength(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // Read back, the same subkeys.
    expect(Buffer.from((await acmeSecretKeys(dir)).eabSealKey)).toEqual(Buffer.from(first.eabSealKey));
  });

  it('fail/an empty or short key file is refused by every command that reads it, and left as it is', async () => {
    for (const bytes of [Buffer.alloc(0), Buffer.alloc(16, 7), Buffer.from('\n')]) {
      writeFileSync(keyFile, bytes, { mode: 0o600 });
      await expect(acmeSecretKeys(dir)).rejects.toThrow(/acme\.key holds \d+ bytes, fewer than 32: it is damaged/);
      const r = pki(['eab', 'create', '--dir', dir, '--label', 'x', '--allow', 'dns:x.internal']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^pki: the ACME secret key .*acme\.key holds \d+ bytes/);
      expect(readFileSync(keyFile)).toEqual(bytes);
    }
  });
});

describe('secrets are written with fsync', () => {
  it.skipIf(!hasTool('strace', ['-V']))('ok/pki init fsyncs the generated passphrase and its directory; acme.key likewise', () => { // skips only locally: hasTool() throws when CI is set
    const d = join(work, 'traced');
    const traced = (args: string[]) =>
      spawnSync('strace', ['-f', '-y', '-e', 'trace=fsync,fdatasync', process.execPath, PKI_BIN, ...args], { encoding: 'utf8', env: { ...process.env, PKI_PASSPHRASE: '' } });
    const r = traced(['init', '--dir', d]);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const synced = (re: RegExp) => r.stderr.split('\n').some((l) => /^(\[pid +\d+\] )?f(data)?sync\(\d+</.test(l) && re.test(l));
    // The bytes (in the temporary file that then takes the name) and the directory entry.
    expect(synced(new RegExp(`${d}/secrets/\\.passphrase\\.[0-9a-f]+\\.tmp>`))).toBe(true);
    expect(synced(new RegExp(`<${d}/secrets>`))).toBe(true);
    const e = traced(['eab', 'create', '--dir', d, '--label', 'x', '--allow', 'dns:x.internal']);
    expect(e.status, e.stderr.slice(-2000)).toBe(0);
    const lines = e.stderr.split('\n').filter((l) => /f(data)?sync\(\d+</.test(l));
    expect(lines.some((l) => l.includes(`${d}/secrets/.acme.key.`))).toBe(true);
    expect(lines.some((l) => l.includes(`<${d}/secrets>`))).toBe(true);
  });
});
