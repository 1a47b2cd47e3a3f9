import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initInstance } from '../../src/index.ts';
import { pki } from '../helpers/cli.ts';
import { TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';
import Database from 'better-sqlite3';

describe('pki grants add|list|remove and pki keys rotate-token', () => {
  let dir: string;
  const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };
  beforeAll(async () => {
    dir = join(tempDir(), 'ca');
    await initInstance({ dir, passphrase: TEST_PASSPHRASE });
  });
  const audit = (action: string) => new Database(join(dir, 'pki.db'), { readonly: true }).prepare('SELECT target, details FROM audit_events WHERE action = ?').all(action) as { target: string; details: string }[];

  it('ok/add, list and remove a grant, each change audited', () => {
    const add = pki(['grants', 'add', '--dir', dir, '--client', 'spiffe://corp/ns/payments/*', '--audience', 'https://ledger.internal', '--scope', 'ledger:write', '--max-ttl', '5m', '--require', 'fresh:10m', '--json']);
    expect(add.status, add.stderr).toBe(0);
    const g = JSON.parse(add.stdout) as { id: string; maxTtlMs: number; requires: string[] };
    expect(g).toMatchObject({ maxTtlMs: 300_000, requires: ['fresh:10m'] });
    const list = pki(['grants', 'list', '--dir', dir]);
    expect(list.stdout).toMatch(new RegExp(`${g.id}\\s+spiffe://corp/ns/payments/\\*\\s+https://ledger.internal\\s+ledger:write\\s+5m\\s+fresh:10m`));
    expect(audit('oauth.grant.added').map((r) => r.target)).toContain(g.id);
    const rm = pki(['grants', 'remove', '--dir', dir, g.id]);
    expect(rm.status, rm.stderr).toBe(0);
    expect(pki(['grants', 'list', '--dir', dir, '--json']).stdout).not.toContain(g.id);
    expect(audit('oauth.grant.removed').map((r) => r.target)).toContain(g.id);
    const again = pki(['grants', 'remove', '--dir', dir, g.id]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/no grant/);
  });

  it('fail/grants add with a bad client, audience, scope, max-ttl or requirement: exit 1 with a reason, nothing stored', () => {
    const before = pki(['grants', 'list', '--dir', dir, '--json']).stdout;
    const cases: [string[], RegExp][] = [
      [['--client', '*', '--audience', 'https://a.internal', '--scope', 's'], /least privilege/],
      [['--client', 'spiffe://corp/../x/*', '--audience', 'https://a.internal', '--scope', 's'], /segment/],
      [['--client', 'Payments.Internal', '--audience', 'https://a.internal', '--scope', 's'], /.+/],
      [['--client', 'api.internal', '--audience', 'ledger', '--scope', 's'], /absolute URI/],
      [['--client', 'api.internal', '--audience', 'https://a.internal#x', '--scope', 's'], /fragment/],
      [['--client', 'api.internal', '--audience', 'https://a.internal', '--scope', 'bad"scope'], /scope token/],
      [['--client', 'api.internal', '--audience', 'https://a.internal', '--scope', 's', '--max-ttl', '1h'], /15m/],
      [['--client', 'api.internal', '--audience', 'https://a.internal', '--scope', 's', '--require', 'hsm'], /fresh:DURATION/],
      [['--client', 'api.internal', '--audience', 'https://a.internal', '--scope', 's', '--require', 'fresh:soon'], /.+/],
    ];
    for (const [args, why] of cases) {
      const r = pki(['grants', 'add', '--dir', dir, ...args]);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toMatch(/unexpected/);
    }
    expect(pki(['grants', 'list', '--dir', dir, '--json']).stdout).toBe(before);
  }, 120_000);

  it('ok/rotate-token: a new key is published now and signs a minute later, when the old one retires (still published for its tokens)', () => {
    const r = pki(['keys', 'rotate-token', '--dir', dir], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/is published now and signs from \S+; 1 older key\(s\) retire then/);
    const keys = new Database(join(dir, 'pki.db'), { readonly: true }).prepare('SELECT signs_from, retired_at FROM oauth_signing_keys ORDER BY created_at').all() as { signs_from: number; retired_at: number | null }[];
    expect(keys[1]!.signs_from - Date.now()).toBeGreaterThan(50_000);
    expect([keys[0]!.retired_at, keys[1]!.retired_at]).toEqual([keys[1]!.signs_from, null]);
    expect(audit('oauth.signing-key.created')).toHaveLength(2);
  });
});
