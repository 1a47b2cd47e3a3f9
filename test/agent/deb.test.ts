import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageDeb } from '../../scripts/package-deb.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run, runStatus } from '../helpers/tools.ts';
import { agentArtifacts, runAgent, useServedCa, verifyUnit } from './support.ts';

/**
 * The pki-agent Debian package on this host (issue #19): dpkg -i, the installed agent enrolls and
 * renews against a real `pki serve` with nothing else installed for it, every installed unit is
 * `systemd-analyze verify` clean, and dpkg -r leaves nothing but the enrolled identity.
 * dpkg -i needs root: CI runs as root, and there the test must run.
 */
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI) throw new Error('test/agent/deb.test.ts must run as root in CI (dpkg -i)');
// skips only locally: hasTool() throws when CI is set
const tools = hasTool('dpkg-deb', ['--version']) && hasTool('systemd-analyze', ['--version']);
const REASON = !isRoot ? 'not root: dpkg -i needs root (CI runs as root and does not skip)' : '';
if (REASON) console.warn(`test/agent/deb.test.ts skipped: ${REASON}`);

const work = tempDir('pki-deb-test-');
const ca = useServedCa(work);
const INSTANCE = `test-${process.pid}`;
const IDENTITY = `/var/lib/pki-agent/${INSTANCE}`;
const preexisting = ['/var/lib/pki-agent', '/etc/pki-agent'].filter((d) => existsSync(d));
let deb: string;
let listed: string[] = [];

describe.skipIf(!tools || !isRoot)('pki-agent .deb: dpkg -i, enroll, renew, dpkg -r', () => { // skips only locally: the tool check throws when CI is set
  beforeAll(async () => {
    const built = await agentArtifacts();
    deb = join(built.dir, 'pki-agent.deb');
    // zstd: a second to build where xz (the release default) takes a minute.
    if (!existsSync(deb)) {
      const made = packageDeb({ sea: built.sea, outDir: join(built.dir, 'deb'), compression: 'zstd' });
      rmSync(deb, { force: true });
      run('mv', [made, deb]);
    }
    expect(runStatus('dpkg', ['-s', 'pki-agent']).status, 'pki-agent is already installed on this host: remove it first').not.toBe(0);
  }, 180_000);

  afterAll(() => {
    if (runStatus('dpkg', ['-s', 'pki-agent']).status === 0) runStatus('dpkg', ['--purge', 'pki-agent']);
    rmSync(IDENTITY, { recursive: true, force: true });
    for (const d of ['/var/lib/pki-agent', '/etc/pki-agent']) if (!preexisting.includes(d)) rmSync(d, { recursive: true, force: true });
  });

  it('ok/the package holds the executable, both units and the man page, owned by root', () => {
    const contents = run('dpkg-deb', ['--contents', deb]);
    for (const p of ['./usr/bin/pki-agent', './lib/systemd/system/pki-renew@.service', './lib/systemd/system/pki-renew@.timer', './usr/share/man/man1/pki-agent.1.gz']) {
      expect(contents).toContain(p);
    }
    expect(contents.split('\n').filter((l) => l && !l.includes(' root/root '))).toEqual([]);
    expect(run('dpkg-deb', ['--field', deb, 'Package', 'Depends'])).toMatch(/^Package: pki-agent\nDepends: libc6/);
  });

  it('ok/dpkg -i installs it; /usr/bin/pki-agent --version names the version and commit; the man page is in place', () => {
    const r = runStatus('dpkg', ['-i', deb]);
    expect(r.status, r.stderr).toBe(0);
    listed = run('dpkg', ['-L', 'pki-agent']).split('\n').filter(Boolean);
    expect(listed).toContain('/usr/bin/pki-agent');
    expect(run('/usr/bin/pki-agent', ['--version'])).toMatch(/^pki-agent \d+\.\d+\.\d+ \(commit [0-9a-f]{12}\)\n$/);
    expect(existsSync('/var/lib/pki-agent')).toBe(true);
    expect(gunzipSync(readFileSync('/usr/share/man/man1/pki-agent.1.gz')).toString()).toMatch(/^\.TH PKI-AGENT 1/m);
  });

  it('ok/every installed unit is systemd-analyze verify clean', () => {
    for (const u of ['/lib/systemd/system/pki-renew@.service', '/lib/systemd/system/pki-renew@.timer']) expect(verifyUnit(u), u).toEqual({ status: 0, stderr: '' });
  });

  it('ok/the installed agent enrolls into /var/lib/pki-agent/<instance> and renews (not due, then forced) with no node on PATH', async () => {
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin'.split(':').filter((d) => !existsSync(join(d, 'node'))).join(':') || '/nonexistent', HOME: work };
    const enroll = await runAgent(['/usr/bin/pki-agent', 'enroll', '--server', ca.directoryUrl, '--root', ca.rootFile, '--ip', '127.0.0.1', '--out', IDENTITY, '--http-port', String(ca.http01Port), '--json'], { cwd: work, env });
    expect(enroll.status, enroll.stderr).toBe(0);
    const serial = () => new X509Certificate(readFileSync(join(IDENTITY, 'cert.pem'))).serialNumber.toLowerCase();
    const first = serial();
    const idle = await runAgent(['/usr/bin/pki-agent', 'renew', '--out', IDENTITY, '--json'], { cwd: work, env });
    expect(JSON.parse(idle.stdout)).toMatchObject({ action: 'not-due', serial: first });
    const forced = await runAgent(['/usr/bin/pki-agent', 'renew', '--out', IDENTITY, '--force', '--json'], { cwd: work, env });
    expect(forced.status, forced.stderr).toBe(0);
    expect(serial()).not.toBe(first);
  });

  it('ok/dpkg -r removes every file the package installed and keeps the enrolled identity', () => {
    expect(listed.length).toBeGreaterThan(5);
    const r = runStatus('dpkg', ['-r', 'pki-agent']);
    expect(r.status, r.stderr).toBe(0);
    // statSync follows symlinks: /lib is one on a merged-/usr system, and stays.
    const files = listed.filter((p) => existsSync(p) && !statSync(p).isDirectory());
    expect(files).toEqual([]);
    // Directories only the package used (its doc dir) go too; shared ones (/usr/bin) stay.
    expect(existsSync('/usr/share/doc/pki-agent')).toBe(false);
    for (const f of ['key.pem', 'cert.pem', 'chain.pem', 'fullchain.pem', 'state.json']) expect(existsSync(join(IDENTITY, f)), f).toBe(true);
  });
});
