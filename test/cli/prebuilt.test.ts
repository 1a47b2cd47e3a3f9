import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prebuiltMain, sourceFingerprint } from '../../bin/prebuilt.js';
import { buildCli } from '../../scripts/build-cli.ts';
import { packagePath, WORKER_SOURCES, workerEntryPath, type WorkerName } from '../../src/domain/runtime-files.ts';
import { builtCopy, FIXED_MTIME, type PackageCopy } from './prebuilt-support.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BUNDLED = /^pki \d+\.\d+\.\d+ \[commit unknown\]$/m;
const SOURCE = /^pki \d+\.\d+\.\d+ \(commit unknown\)$/m;

describe('the runtime file resolver from source (domain/runtime-files.ts)', () => {
  it('ok/every worker starts through its *-launch.js beside its module; data directories are the source tree', () => {
    for (const [name, source] of Object.entries(WORKER_SOURCES)) {
      const entry = workerEntryPath(name as WorkerName);
      expect(entry).toBe(join(ROOT, source.replace(/\.ts$/, '-launch.js')));
      expect(existsSync(entry), entry).toBe(true);
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      // The launcher imports the very module the build bundles under the same name.
      expect(readFileSync(entry, 'utf8')).toContain(`import('./${source.split('/').pop()}')`);
    }
    expect(packagePath()).toBe(ROOT);
    expect(existsSync(join(packagePath('src/store/migrations'), '001_init.sql'))).toBe(true);
    expect(existsSync(packagePath('src/store/postgres/migrations'))).toBe(true);
  });
});

describe('bin/pki.js runs the prebuilt CLI only while it matches the sources', () => {
  let copy: PackageCopy;
  beforeAll(async () => {
    copy = await builtCopy();
  }, 60_000);

  it('ok/the build writes main, one entry per worker and a stamp of the sources as they were', () => {
    const names = copy.build.files.map((f) => f.name);
    expect(names).toContain('main.js');
    for (const name of Object.keys(WORKER_SOURCES)) expect(names).toContain(`${name}.js`);
    // Code splitting: the command loaders of cli/command-table.ts stay separate chunks.
    expect(names.filter((n) => n.startsWith('chunk-')).length).toBeGreaterThan(10);
    const stamp = JSON.parse(readFileSync(join(copy.root, 'dist/cli/stamp.json'), 'utf8')) as { fingerprint: string; main: string };
    expect(stamp).toMatchObject({ fingerprint: sourceFingerprint(copy.root), main: `${basename(copy.build.dir)}/main.js` });
    expect(prebuiltMain(copy.root, {}).main).toBe(join(copy.build.dir, 'main.js'));
    // main.js loads no command's code up front: the registrations are import()s of chunks.
    const main = readFileSync(join(copy.build.dir, 'main.js'), 'utf8');
    expect(main).not.toMatch(/registerServe\s*\(/);
    expect(main).toMatch(/import\("\.\/chunk-[A-Z0-9]+\.js"\)/);
  });

  it('ok/a fresh bundle runs; PKI_FROM_SOURCE=1 runs the sources through tsx', () => {
    expect(copy.run(['--version']).stdout).toMatch(BUNDLED);
    expect(copy.run(['--version'], { PKI_FROM_SOURCE: '1' }).stdout).toMatch(SOURCE);
    expect(copy.run(['--version'], { PKI_FROM_SOURCE: '0' }).stdout).toMatch(BUNDLED);
  });

  it('fail/a stale stamp never runs: an edited, an added or a removed source file, or no stamp, runs the sources', () => {
    const version = join(copy.root, 'cli/version.ts');
    utimesSync(version, FIXED_MTIME, FIXED_MTIME + 1); // saved again, same bytes: stale all the same
    expect(copy.run(['--version']).stdout).toMatch(SOURCE);
    utimesSync(version, FIXED_MTIME, FIXED_MTIME);
    expect(copy.run(['--version']).stdout).toMatch(BUNDLED);

    const added = join(copy.root, 'src/domain/zz-added.ts');
    writeFileSync(added, 'export const x = 1;\n');
    expect(copy.run(['--version']).stdout).toMatch(SOURCE);
    rmSync(added);
    expect(copy.run(['--version']).stdout).toMatch(BUNDLED);

    const pkg = join(copy.root, 'package.json');
    const text = readFileSync(pkg, 'utf8');
    writeFileSync(pkg, text.replace('"private": true', '"private":  true'));
    expect(copy.run(['--version']).stdout).toMatch(SOURCE);
    writeFileSync(pkg, text);
    utimesSync(pkg, FIXED_MTIME, FIXED_MTIME);
    expect(copy.run(['--version']).stdout).toMatch(BUNDLED);

    const stamp = join(copy.root, 'dist/cli/stamp.json');
    const stamped = readFileSync(stamp, 'utf8');
    rmSync(stamp);
    expect(copy.run(['--version']).stdout).toMatch(SOURCE);
    writeFileSync(stamp, stamped.replace(/"fingerprint": "[0-9a-f]{6}/, '"fingerprint": "000000'));
    expect(copy.run(['--version']).stdout).toMatch(SOURCE);
  });

  it('ok/a rebuild leaves the builds a running process may still use, and prunes the oldest', async () => {
    const first = copy.build.dir;
    const later: string[] = [];
    for (let i = 0; i < 6; i++) later.push((await buildCli(copy.root)).dir);
    const stamp = JSON.parse(readFileSync(join(copy.root, 'dist/cli/stamp.json'), 'utf8')) as { main: string };
    expect(stamp.main).toBe(`${basename(later.at(-1)!)}/main.js`);
    const kept = readdirSync(join(copy.root, 'dist/cli')).filter((n) => n !== 'stamp.json').sort();
    expect(kept).toEqual(later.slice(-5).map((d) => basename(d)));
    expect(existsSync(first)).toBe(false);
    expect(prebuiltMain(copy.root, {}).main).toBe(join(later.at(-1)!, 'main.js'));
    expect(copy.run(['revoke', '--help']).status).toBe(0);
  });

  it('ok/the bundle and the sources print the same help for every command', () => {
    const fromSource = (args: string[]) => copy.run(args, { PKI_FROM_SOURCE: '1' });
    for (const args of [['--help'], ['serve', '--help'], ['revoke', '--help'], ['certs', 'list', '--help'], ['status', '--help']]) {
      const a = copy.run(args);
      const b = fromSource(args);
      expect(a.status, args.join(' ')).toBe(0);
      expect(a.stdout, args.join(' ')).toBe(b.stdout);
    }
    // A usage error is the same too (exit 2, the message on stderr).
    const a = copy.run(['revoke', '--no-such-flag']);
    expect(a.status).toBe(2);
    expect(a.stderr).toBe(fromSource(['revoke', '--no-such-flag']).stderr);
  });
});
