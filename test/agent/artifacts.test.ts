import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, delimiter, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ONLY_PACKAGES } from '../../scripts/build-agent.ts';
import { tempDir } from '../helpers/tmp.ts';
import { run } from '../helpers/tools.ts';
import { agentArtifacts, bareDir, runAgent, useServedCa, type AgentArtifacts } from './support.ts';

/**
 * The workload agent as a host gets it (issue #19): the one-file bundle on a bare Node and the
 * single executable on a host with no Node at all, each copied into a fresh directory with no
 * node_modules, driving enroll → renew (not due, forced) → status against a real `pki serve`.
 */
const work = tempDir('pki-agent-');
const ca = useServedCa(work);
let built: AgentArtifacts;
beforeAll(async () => {
  built = await agentArtifacts();
}, 120_000);

const HEAD = run('git', ['-C', join(import.meta.dirname, '../..'), 'rev-parse', '--short=12', 'HEAD']).trim();
const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;
const serialOf = (dir: string) => new X509Certificate(readFileSync(join(dir, 'cert.pem'))).serialNumber.toLowerCase();

/** No node_modules in the directory or any directory above it: nothing to resolve a package from. */
function expectNoNodeModulesAbove(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false);
    if (dirname(d) === d) break;
  }
}

describe('the agent bundle reaches none of the server side', () => {
  it('ok/esbuild metafile: no better-sqlite3, pkcs11js, hono, prom-client, tsx; acme-client and @peculiar/x509 are in', () => {
    expect(built.packages.filter((p) => (SERVER_ONLY_PACKAGES as readonly string[]).includes(p))).toEqual([]);
    expect(built.packages).toEqual(expect.arrayContaining(['acme-client', '@peculiar/x509', 'commander']));
  });

  it('ok/the bundle asks Node for built-in modules only (a single executable can load nothing else)', () => {
    const required = [...readFileSync(built.bundle, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!.replace(/^node:/, ''));
    const builtins = new Set(builtinModules);
    expect(required.filter((r) => !builtins.has(r))).toEqual([]);
  });
});

const KINDS = [
  { kind: 'bundle on a bare Node', file: () => built.bundle, argv0: (f: string) => [process.execPath, f], path: () => dirname(process.execPath) },
  { kind: 'single executable, no node on PATH', file: () => built.sea, argv0: (f: string) => [f], path: () => bareDir(work, 'empty-bin') },
] as const;

for (const k of KINDS) {
  describe(`pki-agent as the ${k.kind}`, () => {
    let host: string;
    let agent: string[];
    let env: NodeJS.ProcessEnv;
    const out = () => join(host, 'identity');
    beforeAll(() => {
      host = bareDir(work, `host-${KINDS.indexOf(k)}`);
      const copy = join(host, basename(k.file()));
      copyFileSync(k.file(), copy);
      agent = k.argv0(copy);
      env = { PATH: k.path(), HOME: host, LANG: 'C' };
    });

    it('ok/the host has no node_modules (and, for the executable, no node on PATH)', () => {
      expectNoNodeModulesAbove(host);
      if (k.argv0('x').length === 1) for (const d of env.PATH!.split(delimiter)) expect(existsSync(join(d, 'node')), d).toBe(false);
    });

    it('ok/--version prints the package version and the commit it was built from', async () => {
      const r = await runAgent([...agent, '--version'], { cwd: host, env });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`pki-agent ${VERSION} (commit ${HEAD})\n`);
    });

    it('ok/enroll over http-01 installs a pair that chains to the root', async () => {
      const r = await runAgent([...agent, 'enroll', '--server', ca.directoryUrl, '--root', ca.rootFile, '--ip', '127.0.0.1', '--out', out(), '--http-port', String(ca.http01Port), '--json'], { cwd: host, env });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const line = JSON.parse(r.stdout) as { action: string; serial: string };
      expect(line.action).toBe('enrolled');
      expect(serialOf(out())).toBe(line.serial);
    });

    it('ok/renew when not due keeps the certificate; --force replaces it', async () => {
      const before = serialOf(out());
      const idle = await runAgent([...agent, 'renew', '--out', out(), '--json'], { cwd: host, env });
      expect(idle.status, idle.stderr).toBe(0);
      expect(JSON.parse(idle.stdout)).toMatchObject({ action: 'not-due', serial: before });
      expect(serialOf(out())).toBe(before);
      const forced = await runAgent([...agent, 'renew', '--out', out(), '--force', '--json'], { cwd: host, env });
      expect(forced.status, forced.stderr).toBe(0);
      const line = JSON.parse(forced.stdout) as { action: string; serial: string; previousSerial: string };
      expect(line).toMatchObject({ action: 'renewed', previousSerial: before });
      expect(serialOf(out())).toBe(line.serial);
      expect(line.serial).not.toBe(before);
    });

    it('ok/status asks OCSP and the CRL of the running CA: good, exit 0', async () => {
      const r = await runAgent([...agent, 'status', '--cert', join(out(), 'cert.pem'), '--json'], { cwd: host, env });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'good', ocsp: { status: 'good' } });
    });

    it('fail/a usage error exits 2; a missing identity exits 1 with a reason', async () => {
      expect((await runAgent([...agent, 'renew'], { cwd: host, env })).status).toBe(2);
      const r = await runAgent([...agent, 'renew', '--out', join(host, 'nothing')], { cwd: host, env });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/holds no enrollment/);
    });
  });
}
