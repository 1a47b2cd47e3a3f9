/**
 * Builds the workload agent (issue #19): `npm run build:agent`.
 *
 *   dist/pki-agent.cjs   one CommonJS file for any Node >= 20, no node_modules (esbuild bundle of
 *                        cli/agent.ts; CommonJS because Node's single-executable support runs only that)
 *   dist/pki-agent       a single executable: a copy of this Node with the bundle injected as the
 *                        NODE_SEA_BLOB resource (https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html)
 *
 * The version and commit are baked in with esbuild's `define` (cli/version.ts reads them).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

export const ROOT = resolve(import.meta.dirname, '..');
/** Packages the agent must never load: the server's native modules and its HTTP and metrics stacks. */
export const SERVER_ONLY_PACKAGES = ['better-sqlite3', 'pkcs11js', 'hono', '@hono/node-server', 'prom-client', 'tsx'] as const;
/** Node's documented fuse for SEA injection; postject flips it so the binary runs the blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface BuildInfo {
  version: string;
  commit: string;
}

/** The version in package.json and the commit checked out (PKI_BUILD_COMMIT overrides it: a build from a tarball). */
export function currentBuildInfo(): BuildInfo {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  let commit = process.env.PKI_BUILD_COMMIT ?? 'unknown';
  if (!process.env.PKI_BUILD_COMMIT) {
    try {
      commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not a checkout: the commit stays "unknown"
    }
  }
  return { version, commit };
}

/** What every bundle of this repository shares (the agent's here, the CLI's in scripts/build-cli.ts): Node 20, names kept for errors and traces. */
export const NODE_BUNDLE: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  keepNames: true, // error messages and stack traces keep class names
  legalComments: 'none',
  logLevel: 'warning',
};

/** The single-file bundle; returns its path and the package names it contains (from esbuild's metafile). */
export async function buildBundle(outDir = join(ROOT, 'dist'), info = currentBuildInfo()): Promise<{ file: string; packages: string[]; metafile: Metafile }> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'pki-agent.cjs');
  const r = await build({
    entryPoints: [join(ROOT, 'cli/agent.ts')],
    ...NODE_BUNDLE,
    outfile: file,
    format: 'cjs',
    minify: true,
    banner: { js: '#!/usr/bin/env node' },
    define: { __PKI_BUILD__: JSON.stringify(info) },
    // cli/version.ts reads import.meta.url only when __PKI_BUILD__ is absent, which a bundle never is.
    logOverride: { 'empty-import-meta': 'silent' },
    plugins: [stubOptional],
    metafile: true,
  });
  chmodSync(file, 0o755);
  return { file, packages: packagesOf(r.metafile), metafile: r.metafile };
}

/**
 * debug (under acme-client's axios) tries `require('supports-color')` in a try/catch; left as a
 * require, a single executable warns at start (it can load only built-ins), so it becomes an empty module.
 */
const stubOptional: Plugin = {
  name: 'stub-optional',
  setup(b) {
    b.onResolve({ filter: /^supports-color$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

/** Names of the npm packages whose files went into a bundle. */
export function packagesOf(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}

/** The single executable: a copy of `node` (this process's) with the bundle injected. */
export async function buildSea(bundle: string, outDir = join(ROOT, 'dist'), nodeBinary = process.execPath): Promise<string> {
  const exe = join(outDir, 'pki-agent');
  const configFile = join(outDir, 'sea-config.json');
  const blob = join(outDir, 'pki-agent.blob');
  // useCodeCache: V8's compiled code goes into the blob (the executable runs that very V8), so a
  // start skips most of the parse and compile of the 1.7 MB bundle.
  writeFileSync(configFile, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  execFileSync(nodeBinary, ['--experimental-sea-config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  rmSync(exe, { force: true });
  copyFileSync(nodeBinary, exe);
  chmodSync(exe, 0o755);
  // postject ships CommonJS without types.
  const { inject } = createRequire(import.meta.url)('postject') as { inject: (file: string, name: string, data: Buffer, o: { sentinelFuse: string }) => Promise<void> };
  await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  rmSync(blob);
  rmSync(configFile);
  return exe;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const outDir = join(ROOT, 'dist');
  const bundle = await buildBundle(outDir);
  const leaked = bundle.packages.filter((p) => (SERVER_ONLY_PACKAGES as readonly string[]).includes(p));
  if (leaked.length) throw new Error(`the agent bundle pulled in server packages: ${leaked.join(', ')}`);
  process.stdout.write(`${bundle.file} (${bundle.packages.length} packages: ${bundle.packages.join(', ')})\n`);
  if (!process.argv.includes('--no-sea')) process.stdout.write(`${await buildSea(bundle.file, outDir)}\n`);
}
