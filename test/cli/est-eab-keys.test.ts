import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/** `pki est keys create|list|revoke` and `pki eab create --max-accounts`, through the real CLI. */
describe('pki est keys / pki eab --max-accounts', () => {
  const dir = join(tempDir(), 'ca');
  const env = { PKI_PASSPHRASE: '' };

  it('ok→bad/creates, lists (no secret) and revokes an enrollment key; bad input is one line and exit 1', () => {
    expect(pki(['init', '--dir', dir], env).status).toBe(0);
    const made = pki(['est', 'keys', 'create', '--dir', dir, '--label', 'cameras', '--allow', 'dns:*.cameras.internal', '--max-uses', '3', '--expires', '7d', '--json']);
    expect(made.status, made.stderr).toBe(0);
    const key = JSON.parse(made.stdout) as { id: string; secret: string };
    expect(key.id).toMatch(/^est-[\w-]+$/);
    expect(Buffer.from(key.secret, 'base64url')).toHaveLength(32);
    const listed = pki(['est', 'keys', 'list', '--dir', dir, '--json']);
    expect(listed.stdout).not.toContain(key.secret);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: key.id, label: 'cameras', status: 'active', maxUses: 3, uses: 0, scopes: ['dns:*.cameras.internal'] })]);
    expect(pki(['est', 'keys', 'list', '--dir', dir]).stdout).toMatch(/cameras\s+active\s+0\/3/);
    expect(pki(['est', 'keys', 'revoke', '--dir', dir, key.id]).stdout).toBe(`revoked ${key.id}\n`);
    const again = pki(['est', 'keys', 'revoke', '--dir', dir, key.id]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`pki: EST enrollment key "${key.id}" is already revoked\n`);
    const noScope = pki(['est', 'keys', 'create', '--dir', dir, '--label', 'x']);
    expect(noScope.status).toBe(1);
    expect(noScope.stderr).toMatch(/least privilege/);
    const badUses = pki(['est', 'keys', 'create', '--dir', dir, '--label', 'x', '--allow', 'dns:a.test', '--max-uses', '0']);
    expect(badUses.status).toBe(1);
    expect(badUses.stderr).toMatch(/--max-uses "0" must be a whole number/);
    expect(pki(['est', 'keys', 'revoke', '--dir', dir, 'est-nope']).stderr).toBe('pki: no EST enrollment key "est-nope"\n');
  });

  it('ok→bad/eab create --max-accounts makes a fleet key; list shows accounts bound of the maximum', () => {
    const made = pki(['eab', 'create', '--dir', dir, '--label', 'web-asg', '--allow', 'dns:*.web.internal', '--max-accounts', '50', '--json']);
    expect(made.status, made.stderr).toBe(0);
    const { kid } = JSON.parse(made.stdout) as { kid: string };
    const keys = JSON.parse(pki(['eab', 'list', '--dir', dir, '--json']).stdout) as { kid: string; accounts: number; maxAccounts: number }[];
    expect(keys.find((k) => k.kid === kid)).toMatchObject({ accounts: 0, maxAccounts: 50 });
    expect(pki(['eab', 'list', '--dir', dir]).stdout).toMatch(/web-asg\s+active\s+-\s+0\/50/);
    const bad = pki(['eab', 'create', '--dir', dir, '--label', 'x', '--allow', 'dns:a.test', '--max-accounts', 'many']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--max-accounts "many" must be a whole number/);
  });
});
