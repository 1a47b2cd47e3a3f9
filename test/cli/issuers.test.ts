import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.ts';
import { pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { jwks, signingKey } from '../identity/support.ts';

const ISS = 'https://kubernetes.default.svc.cluster.local';
const SUBJECT = '^system:serviceaccount:(?<ns>[a-z0-9-]+):(?<sa>[a-z0-9-]+)$';

describe('pki issuers', async () => {
  const work = tempDir();
  const dir = join(work, 'ca');
  const jwksFile = join(work, 'jwks.json');
  writeFileSync(jwksFile, jwks(await signingKey('RS256', 'sa-key')));
  expect(pki(['init', '--dir', dir], { PKI_PASSPHRASE: '' }).status).toBe(0);
  const add = (...extra: string[]) => pki(['issuers', 'add', '--dir', dir, '--issuer', ISS, '--jwks-file', jwksFile, '--audience', 'pki', '--subject', SUBJECT, ...extra]);

  it('ok/add, list, list --json, remove; each change audited', () => {
    const r = add('--identifier', 'uri:spiffe://corp/ns/{ns}/sa/{sa}', '--identifier', 'dns:{sa}.{ns}.svc', '--max-lifetime', '2h');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/trusted https:\/\/kubernetes.default.svc.cluster.local/);
    const list = pki(['issuers', 'list', '--dir', dir]);
    expect(list.stdout).toMatch(/ISSUER\s+AUDIENCE\s+KEYS/);
    expect(list.stdout).toMatch(/file \(1 keys\)\s+2h\s+uri:spiffe:\/\/corp\/ns\/\{ns\}\/sa\/\{sa\} dns:\{sa\}\.\{ns\}\.svc/);
    const json = JSON.parse(pki(['issuers', 'list', '--dir', dir, '--json']).stdout) as { issuer: string; template: { subject: string } }[];
    expect(json).toMatchObject([{ issuer: ISS, audience: 'pki', template: { subject: SUBJECT } }]);

    const again = add('--identifier', 'dns:{sa}.{ns}.svc');
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already trusted/);

    expect(pki(['issuers', 'remove', '--dir', dir, ISS]).status).toBe(0);
    const gone = pki(['issuers', 'remove', '--dir', dir, ISS]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(/is not trusted/);
    expect(pki(['issuers', 'list', '--dir', dir, '--json']).stdout.trim()).toBe('[]');

    // Keys from a URL served under the cluster's own CA.
    const caFile = join(dir, 'ca', 'root.pem');
    const url = pki(['issuers', 'add', '--dir', dir, '--issuer', ISS, '--jwks-url', 'https://api.cluster.internal:6443/openid/v1/jwks', '--jwks-ca', caFile, '--subject', SUBJECT, '--identifier', 'dns:{sa}.{ns}.svc']);
    expect(url.status, url.stderr).toBe(0);
    expect(pki(['issuers', 'list', '--dir', dir]).stdout).toMatch(/https:\/\/api.cluster.internal:6443\/openid\/v1\/jwks/);
    expect(pki(['issuers', 'remove', '--dir', dir, ISS]).status).toBe(0);

    const store = openStore(join(dir, 'pki.db'));
    try {
      expect(store.audit.list().filter((e) => e.action.startsWith('identity.issuer.')).map((e) => [e.action, e.target])).toEqual([
        ['identity.issuer.added', ISS],
        ['identity.issuer.removed', ISS],
        ['identity.issuer.added', ISS],
        ['identity.issuer.removed', ISS],
      ]);
    } finally {
      store.close();
    }
  });

  it('bad/clear messages, exit 1 (2 for usage), nothing stored', () => {
    const cases: [string[], RegExp][] = [
      [[], /at least one --identifier/],
      [['--identifier', 'dns:{team}.svc'], /\{team\} is neither a named capture/],
      [['--identifier', 'dns:{sa}.{ns}.svc', '--jwks-url', 'https://x.example/jwks'], /exactly one of --jwks-file and --jwks-url/],
      [['--identifier', 'dns:{sa}.{ns}.svc', '--claim', 'nopattern'], /must be PATH=PATTERN/],
      [['--identifier', 'dns:{sa}.{ns}.svc', '--max-lifetime', 'soon'], /invalid duration/],
      [['--identifier', 'dns:{sa}.{ns}.svc', '--jwks-ca', jwksFile], /--jwks-ca applies to --jwks-url only/],
      [['--identifier', 'dns:{sa}.{ns}.svc', '--jwks-file', jwksFile, '--jwks-url', 'https://x.example/jwks'], /exactly one of/],
    ];
    for (const [extra, reason] of cases) {
      const r = add(...extra);
      expect(r.status, extra.join(' ')).toBe(1);
      expect(r.stderr).toMatch(reason);
    }
    const missing = pki(['issuers', 'add', '--dir', dir, '--identifier', 'dns:x.svc']);
    expect(missing.status).toBe(2);
    const noFile = pki(['issuers', 'add', '--dir', dir, '--issuer', ISS, '--jwks-file', join(work, 'nope.json'), '--identifier', 'dns:x.svc']);
    expect(noFile.status).toBe(1);
    expect(noFile.stderr).toMatch(/cannot read JWKS file .*ENOENT/);
    expect(pki(['issuers', 'list', '--dir', dir, '--json']).stdout.trim()).toBe('[]');
  });
});
