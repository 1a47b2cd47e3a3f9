import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pki } from '../helpers/cli.ts';
import { makeCsr } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';

const work = tempDir();
const dir = join(work, 'ca');

function snapshot(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(d, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath, e.name);
      out[p] = readFileSync(p).toString('base64');
    }
  }
  return out;
}

describe('pki init', () => {
  it('ok/creates an instance, prints the root fingerprint and the generated passphrase file', () => {
    const r = pki(['init', '--dir', dir, '--name', 'Acme Internal CA', '--url', 'http://127.0.0.1:9080'], { PKI_PASSPHRASE: '' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Root SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(r.stdout).toMatch(/belongs offline/);
    expect(r.stdout).toContain(join(dir, 'secrets/passphrase'));
    expect(statSync(join(dir, 'secrets/passphrase')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keys/intermediate.key.pem')).mode & 0o777).toBe(0o600);
    const config = JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8'));
    expect(config).toMatchObject({ name: 'Acme Internal CA', baseUrl: 'http://127.0.0.1:9080', keyStore: { type: 'file' } });
    // The printed fingerprint is the root's.
    if (hasTool('openssl')) {
      const fp = run('openssl', ['x509', '-in', join(dir, 'ca/root.pem'), '-noout', '-fingerprint', '-sha256']).split('=')[1]!.trim();
      expect(r.stdout).toContain(fp);
      const inter = run('openssl', ['x509', '-in', join(dir, 'ca/intermediate.pem'), '-noout', '-ext', 'basicConstraints,keyUsage']);
      expect(inter).toMatch(/critical\s+CA:TRUE, pathlen:0/);
      expect(inter).toMatch(/Certificate Sign, CRL Sign/);
      expect(run('openssl', ['verify', '-CAfile', join(dir, 'ca/root.pem'), join(dir, 'ca/intermediate.pem')])).toMatch(/OK/);
    }
  });

  it('fail/a second init on the same dir refuses and leaves the first instance untouched', () => {
    const before = snapshot(dir);
    const r = pki(['init', '--dir', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/refusing to overwrite/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('fail/an unknown key algorithm is a clear error', () => {
    const r = pki(['init', '--dir', join(work, 'bad'), '--key-alg', 'dsa-1024']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown key algorithm "dsa-1024"/);
  });

  it('ok/rsa-3072 and ecdsa-p384 instances work, with the passphrase from PKI_PASSPHRASE', async () => {
    const csrPem = (await makeCsr({ sans: [{ type: 'dns', value: 'p.internal' }] })).pem;
    for (const alg of ['rsa-3072', 'ecdsa-p384']) {
      const d = join(work, alg);
      const r = pki(['init', '--dir', d, '--key-alg', alg], { PKI_PASSPHRASE: 'from-the-environment' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/generated one/);
      expect(pki(['certs', 'list', '--dir', d]).stdout).toMatch(/intermediate/); // inventory needs no passphrase
      writeFileSync(join(work, 'p.csr'), csrPem);
      expect(pki(['issue', '--dir', d, '--csr', join(work, 'p.csr')], { PKI_PASSPHRASE: 'from-the-environment' }).status).toBe(0);
      const wrong = pki(['issue', '--dir', d, '--csr', join(work, 'p.csr')], { PKI_PASSPHRASE: 'not-the-passphrase' });
      expect(wrong.status).toBe(1);
      expect(wrong.stderr).toMatch(/wrong passphrase/);
    }
  });
});

describe('pki issue and pki certs list (a new process each time: key store and DB reload)', () => {
  it('ok/issues from an openssl req CSR; the leaf verifies against the root', async ({ skip }) => {
    if (!hasTool('openssl')) return skip();
    const csr = join(work, 'svc.csr');
    run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(work, 'svc.key'), '-subj', '/CN=svc.internal', '-addext', 'subjectAltName=DNS:svc.internal,URI:spiffe://corp/svc', '-out', csr]);
    const out = join(work, 'svc.pem');
    const r = pki(['issue', '--dir', dir, '--csr', csr, '--out', out, '--lifetime', '2h'], { PKI_PASSPHRASE: '' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/issued serial [0-9a-f]{32}/);
    expect(run('openssl', ['verify', '-CAfile', join(dir, 'ca/root.pem'), '-untrusted', join(dir, 'ca/intermediate.pem'), out]).trim()).toBe(`${out}: OK`);
    const dates = run('openssl', ['x509', '-in', out, '-noout', '-startdate', '-enddate']);
    const [nb, na] = [...dates.matchAll(/=(.*)/g)].map((m) => new Date(m[1]!).getTime());
    expect(na! - nb!).toBeLessThanOrEqual(2 * 3600_000 + 120_000);
    expect(na! - nb!).toBeGreaterThanOrEqual(2 * 3600_000);
  });

  it('ok/the instance reopened in another process issues again to stdout', async () => {
    const { pem } = await makeCsr({ sans: [{ type: 'dns', value: 'again.internal' }] });
    writeFileSync(join(work, 'again.csr'), pem);
    const r = pki(['issue', '--dir', dir, '--csr', join(work, 'again.csr'), '--chain']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  it('fail/a tampered CSR is refused with a clear message, exit 1, and no valid row', async () => {
    const { pem } = await makeCsr({ sans: [{ type: 'dns', value: 'tampered.internal' }] });
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der.writeUInt8(der.at(-3)! ^ 0x55, der.length - 3);
    writeFileSync(join(work, 'tampered.csr'), der);
    const r = pki(['issue', '--dir', dir, '--csr', join(work, 'tampered.csr')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pki: the CSR signature does not verify/);
    expect(pki(['certs', 'list', '--dir', dir, '--json']).stdout).not.toContain('tampered.internal');
  });

  it('fail/--out where nothing can be written is refused before signing: no row, no file left behind', () => {
    const rows = () => {
      const db = new Database(join(dir, 'pki.db'), { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM certificates').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const before = rows();
    const outDir = join(work, 'out-dir');
    mkdirSync(outDir);
    for (const [out, why] of [
      [join(work, 'no-such-dir', 'cert.pem'), /ENOENT/],
      [outDir, /is a directory/],
      [join(work, 'again.csr', 'cert.pem'), /ENOTDIR/],
    ] as const) {
      const r = pki(['issue', '--dir', dir, '--csr', join(work, 'again.csr'), '--out', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^pki: cannot write --out ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(r.stderr).toMatch(why);
      expect(rows()).toBe(before);
    }
    expect(readdirSync(outDir)).toEqual([]);
    expect(readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('fail/a missing CSR file and a bad lifetime are clear errors', () => {
    expect(pki(['issue', '--dir', dir, '--csr', join(work, 'nope.csr')]).stderr).toMatch(/cannot read CSR/);
    const r = pki(['issue', '--dir', dir, '--csr', join(work, 'again.csr'), '--lifetime', 'soon']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid duration "soon"/);
  });

  it('ok/certs list filters by status and expiry, as a table or JSON', () => {
    const table = pki(['certs', 'list', '--dir', dir]);
    expect(table.status).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^SERIAL\s+STATUS\s+PROFILE\s+NOT AFTER\s+NAMES/);
    expect(table.stdout).toMatch(/dns:svc.internal, uri:spiffe:\/\/corp\/svc/);
    const all = JSON.parse(pki(['certs', 'list', '--dir', dir, '--json']).stdout) as { serial: string; status: string; profile: string; sans: string[] }[];
    expect(all.filter((c) => c.profile === 'default').map((c) => c.sans[0]).sort()).toEqual(['dns:again.internal', 'dns:svc.internal']);
    const soon = JSON.parse(pki(['certs', 'list', '--dir', dir, '--json', '--expiring', '3h']).stdout) as { sans: string[] }[];
    expect(soon.map((c) => c.sans[0])).toEqual(['dns:svc.internal']);
    expect(JSON.parse(pki(['certs', 'list', '--dir', dir, '--json', '--status', 'revoked']).stdout)).toEqual([]);
    const bad = pki(['certs', 'list', '--dir', dir, '--status', 'weird']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown status "weird"/);
  });

  it('fail/a directory that is not an instance', () => {
    const r = pki(['certs', 'list', '--dir', join(work, 'nothing')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is not a pki instance/);
  });

  it('fail/usage errors exit 2', () => {
    expect(pki(['issue']).status).toBe(2);
    expect(pki(['frobnicate']).status).toBe(2);
  });
});

describe('pki audit', () => {
  it('ok/lists what happened and verifies the chain', () => {
    const list = JSON.parse(pki(['audit', 'list', '--dir', dir, '--json']).stdout) as { action: string; actor: string }[];
    expect(list[0]).toMatchObject({ action: 'certificate.issued', actor: 'cli' }); // the root
    expect(list.map((e) => e.action)).toContain('ca.initialized');
    const v = pki(['audit', 'verify', '--dir', dir]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/audit trail intact: \d+ rows/);
  });

  it('fail/an audit row edited by hand is named by audit verify', async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dir, 'pki.db'));
    db.exec('DROP TRIGGER audit_events_no_update');
    db.prepare(`UPDATE audit_events SET details = '{"forged":true}' WHERE id = 2`).run();
    db.close();
    const v = pki(['audit', 'verify', '--dir', dir]);
    expect(v.status).toBe(1);
    expect(v.stderr).toMatch(/audit trail broken at row 2/);
  });
});
