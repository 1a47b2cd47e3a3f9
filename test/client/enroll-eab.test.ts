import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useWorkloadTestEnv } from './support.ts';
import { pkiAsync as pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/** pki enroll against a CA that requires External Account Binding with issuance scopes. */
const work = tempDir();
const env = useWorkloadTestEnv(work, { requireEab: true });

async function createEab(label: string, allow: string[], expires = '1d'): Promise<{ kid: string; keyFile: string }> {
  const r = await pki(['eab', 'create', '--dir', env.ca.dir, '--label', label, ...allow.flatMap((a) => ['--allow', a]), '--expires', expires, '--json']);
  expect(r.status, r.stderr).toBe(0);
  const { kid, hmacKey } = JSON.parse(r.stdout) as { kid: string; hmacKey: string };
  const keyFile = join(work, `${label}.hmac`);
  writeFileSync(keyFile, hmacKey + '\n', { mode: 0o600 });
  return { kid, keyFile };
}

const enrollArgs = (out: string, eab: { kid: string; keyFile: string }, names: string[]) => [
  'enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', out, '--http-port', String(env.http01Port),
  '--eab-kid', eab.kid, '--eab-hmac-key-file', eab.keyFile, ...names.flatMap((n) => ['--name', n]),
];

describe('pki enroll with External Account Binding', () => {
  it('ok/a name inside the scope is issued', async () => {
    const eab = await createEab('payments', ['dns:*.payments.internal']);
    const r = await pki(enrollArgs(join(work, 'api'), eab, ['api.payments.internal']));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^enrolled: serial [0-9a-f]+ for DNS:api.payments.internal/);
  });

  it('fail/a name outside the scope: one-line error, exit 1, old files untouched', async () => {
    const eab = await createEab('billing', ['dns:*.billing.internal']);
    const out = join(work, 'billing');
    expect((await pki(enrollArgs(out, eab, ['db.billing.internal']))).status).toBe(0);
    const before = readFileSync(join(out, 'cert.pem'), 'utf8');
    const r = await pki(enrollArgs(out, eab, ['db.payments.internal']));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pki: .*(rejectedIdentifier|not allowed|scope|outside)/i);
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toBe(before);
  });

  it('fail/a revoked EAB key cannot register an account', async () => {
    const eab = await createEab('gone', ['dns:*.gone.internal']);
    const rev = await pki(['eab', 'revoke', '--dir', env.ca.dir, eab.kid]);
    expect(rev.status, rev.stderr).toBe(0);
    const out = join(work, 'gone');
    const r = await pki(enrollArgs(out, eab, ['a.gone.internal']));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pki: account failed: .*(external account|EAB|revoked|unauthorized)/i);
    expect(existsSync(join(out, 'cert.pem'))).toBe(false);
  });

  it('fail/an expired EAB key: one-line error, exit 1, nothing written', async () => {
    const eab = await createEab('late', ['dns:*.late.internal'], '1s');
    await new Promise((r) => setTimeout(r, 1500));
    const out = join(work, 'late');
    const r = await pki(enrollArgs(out, eab, ['a.late.internal']));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pki: account failed: .*expired/);
    expect(existsSync(join(out, 'cert.pem'))).toBe(false);
    const list = JSON.parse((await pki(['eab', 'list', '--dir', env.ca.dir, '--json'])).stdout) as { kid: string; expiresAt: string | null }[];
    expect(new Date(list.find((k) => k.kid === eab.kid)!.expiresAt!).getTime()).toBeLessThan(Date.now());
  });

  it('fail/without EAB the server says it requires one', async () => {
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', join(work, 'noeab'), '--name', 'x.internal']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pki: account failed: .*external account/i);
  });
});
