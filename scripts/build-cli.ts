/**
 * Builds the prebuilt `pki` CLI (#21): `npm run build`, and package.json's "prepare", so `npm ci`
 * leaves one built. bin/pki.js runs it while its stamp matches the sources, else the sources.
 *
 *   dist/cli/<build>/main.js      cli/main.ts; each command's registration a chunk of its own,
 *                                 loaded only when that command runs (cli/command-table.ts)
 *   dist/cli/<build>/<worker>.js  every module the server runs in another thread or process
 *                                 (domain/runtime-files.ts WORKER_SOURCES), started by a bundled process
 *   dist/cli/<build>/chunk-*.js   code shared between them (esbuild code splitting)
 *   dist/cli/stamp.json           the sources' fingerprint taken before the build, and the build
 *                                 it names (bin/prebuilt.js); <build> is the time and the fingerprint
 *
 * npm packages stay external: node_modules is there anyway (native better-sqlite3 and pkcs11js),
 * and a package's own files (its JSON, its workers) keep their paths. What the bundle changes is
 * only that Node loads about ten files of plain JavaScript instead of compiling ~300 TypeScript
 * modules through tsx's loader thread on every start.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_DIR, sourceFingerprint, STAMP_FILE } from '../bin/prebuilt.js';
import { WORKER_SOURCES } from '../src/domain/runtime-files.ts';
import { NODE_BUNDLE, packagesOf, ROOT } from './build-agent.ts';

export interface CliBuild {
  dir: string;
  /** Output files, relative to dir, with their sizes. */
  files: { name: string; bytes: number }[];
  fingerprint: string;
  ms: number;
}

/** Builds kept besides the current one: a process started from an earlier build still finds its chunks and workers. */
const KEEP_PREVIOUS = 4;

/**
 * Bundles into a directory of its own, dist/cli/<build>/, then points dist/cli/stamp.json at it
 * (written to a temp file and renamed: a `pki` starting meanwhile reads the old stamp or the new
 * one whole). A running process keeps its own build: the chunks it loads later and the workers it
 * starts (found beside its chunks) are never replaced under it. The fingerprint is taken before
 * esbuild reads a file: a source edited during the build leaves a stamp that no longer matches.
 */
export async function buildCli(root = ROOT): Promise<CliBuild> {
  const started = performance.now();
  const fingerprint = sourceFingerprint(root);
  const base = join(root, BUNDLE_DIR);
  const id = `${new Date().toISOString().replace(/[-:.Z]/g, '')}-${fingerprint.slice(0, 8)}`; // 20261207T055012123-1a2b3c4d
  const dir = join(base, id);
  const next = join(base, `.next-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  try {
    const entryPoints: Record<string, string> = { main: join(root, 'cli/main.ts') };
    for (const [name, source] of Object.entries(WORKER_SOURCES)) entryPoints[name] = join(root, source);
    const r = await build({
      ...NODE_BUNDLE,
      entryPoints,
      outdir: next,
      format: 'esm',
      splitting: true, // dynamic import() stays lazy: a chunk per command loader
      packages: 'external',
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]', // flat: every output is three levels below the root (the define below)
      define: { __PKI_BUNDLE_ROOT__: JSON.stringify('../../../') },
      metafile: true,
    });
    checkBundle(r.metafile);
    rmSync(dir, { recursive: true, force: true });
    renameSync(next, dir);
    const stamp = join(base, STAMP_FILE);
    writeFileSync(`${stamp}.${process.pid}`, JSON.stringify({ fingerprint, main: `${id}/main.js`, node: process.version, builtAt: new Date().toISOString() }, null, 2) + '\n');
    renameSync(`${stamp}.${process.pid}`, stamp);
    prune(base, id);
    const files = Object.keys(r.metafile.outputs).map((o) => {
      const name = relative(next, resolve(root, o));
      return { name, bytes: statSync(join(dir, name)).size };
    });
    return { dir, files, fingerprint, ms: Math.round(performance.now() - started) };
  } finally {
    rmSync(next, { recursive: true, force: true });
  }
}

/** Removes all but the current build and the KEEP_PREVIOUS newest others (build ids sort by time). */
function prune(base: string, current: string): void {
  const builds = readdirSync(base, { withFileTypes: true }).filter((e) => e.isDirectory() && /^\d{8}T\d{9}-[0-9a-f]{8}$/.test(e.name) && e.name !== current).map((e) => e.name).sort();
  for (const old of builds.slice(0, Math.max(0, builds.length - KEEP_PREVIOUS))) rmSync(join(base, old), { recursive: true, force: true });
}

/** The bundle holds no npm package (they load from node_modules) and never reaches tsx or a *-launch.js. */
function checkBundle(metafile: Metafile): void {
  const packages = packagesOf(metafile);
  if (packages.length) throw new Error(`the CLI bundle pulled in npm packages, which must stay external: ${packages.join(', ')}`);
  const launchers = Object.keys(metafile.inputs).filter((i) => i.endsWith('-launch.js'));
  const tsx = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.path === 'tsx' || i.path.startsWith('tsx/')).map((i) => i.path));
  if (launchers.length || tsx.length) throw new Error(`the CLI bundle reaches tsx: ${[...launchers, ...tsx].join(', ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const b = await buildCli();
  const kb = Math.round(b.files.reduce((s, f) => s + f.bytes, 0) / 1024);
  process.stdout.write(`${relative(process.cwd(), b.dir) || '.'}: ${b.files.length} files, ${kb} KiB in ${b.ms} ms (stamp ${b.fingerprint.slice(0, 12)})\n`);
}
