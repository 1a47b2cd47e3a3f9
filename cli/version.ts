import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  version: string;
  commit: string;
}

/** Set by scripts/build-agent (esbuild `define`): the bundle knows its version and commit without package.json or git. */
declare const __PKI_BUILD__: BuildInfo | undefined;
/**
 * Set by scripts/build-cli (esbuild `define`): the package root relative to a chunk of dist/cli/<build>/.
 * cli/ may not import src/domain/runtime-files.ts (test/architecture.test.ts), which reads the same constant.
 */
declare const __PKI_BUNDLE_ROOT__: string | undefined;

/** The version and commit this program was built from: baked into a bundle, else read from the checkout it runs in. */
export function buildInfo(): BuildInfo {
  if (typeof __PKI_BUILD__ !== 'undefined') return __PKI_BUILD__;
  const root = typeof __PKI_BUNDLE_ROOT__ === 'string' ? __PKI_BUNDLE_ROOT__ : '..';
  return checkoutInfo(fileURLToPath(new URL(root, import.meta.url)));
}

/**
 * package.json's version and git's HEAD of a checkout; PKI_BUILD_COMMIT when set (the Docker
 * image has no .git); "unknown" when git or the repository is missing (an exported tree).
 */
export function checkoutInfo(root: string, env: NodeJS.ProcessEnv = process.env): BuildInfo {
  const version = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string }).version;
  if (env.PKI_BUILD_COMMIT) return { version, commit: env.PKI_BUILD_COMMIT };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim() || 'unknown';
  } catch {
    // No git on the host, or not a repository: the version alone still says what this is.
  }
  return { version, commit };
}

/** `--version` / `-V` line: `NAME VERSION (commit COMMIT)`. */
export function versionLine(name: string, info: BuildInfo = buildInfo()): string {
  return `${name} ${info.version} (commit ${info.commit})`;
}

/** Adds `-V, --version`; the commit is looked up only when asked (git costs a process start). */
export function addVersionOption(program: import('commander').Command, name: string): void {
  program.option('-V, --version', 'print the version and the commit it was built from').on('option:version', () => {
    process.stdout.write(versionLine(name) + '\n');
    process.exit(0);
  });
}
