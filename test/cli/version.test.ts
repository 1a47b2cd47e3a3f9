import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutInfo, versionLine } from '../../cli/version.ts';
import { pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { run } from '../helpers/tools.ts';

/** `pki --version` from a checkout: package.json's version and git's HEAD (issue #19; the agent bundle's is in test/agent/). */
const ROOT = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const work = tempDir('pki-version-');

describe('pki --version', () => {
  it('ok/prints the package version and the checked-out commit, exit 0, for --version and -V', () => {
    const head = run('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD']).trim();
    for (const flag of ['--version', '-V']) {
      const r = pki([flag]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`pki ${VERSION} (commit ${head})\n`);
    }
  });

  it('ok/without git on PATH the commit is "unknown", and the version still prints', () => {
    const empty = join(work, 'empty-bin');
    mkdirSync(empty);
    const r = pki(['--version'], { PATH: empty });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`pki ${VERSION} (commit unknown)\n`);
  });

  it('ok/a tree that is not a repository (an exported tarball) says "unknown"', () => {
    const tree = join(work, 'export');
    mkdirSync(tree);
    writeFileSync(join(tree, 'package.json'), JSON.stringify({ version: '9.8.7' }));
    expect(versionLine('pki', checkoutInfo(tree, {}))).toBe('pki 9.8.7 (commit unknown)');
    // The Docker image has no .git: the build passes the commit in PKI_BUILD_COMMIT.
    expect(versionLine('pki', checkoutInfo(tree, { PKI_BUILD_COMMIT: 'abc123def456' }))).toBe('pki 9.8.7 (commit abc123def456)');
  });
});
