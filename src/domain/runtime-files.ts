import { fileURLToPath } from 'node:url';

/**
 * Where the files the program finds at run time are: the entry of each worker it starts and the
 * data directories it reads (SQL migrations, the package root). Run from source (tsx), a module's
 * own location finds them; in the prebuilt CLI (scripts/build-cli.ts → dist/cli/) every module is
 * inside a chunk, so `new URL(..., import.meta.url)` beside each site would point into dist/.
 * Every site asks here instead, and this one module knows both layouts (#21).
 */

/**
 * Set only in the prebuilt CLI (esbuild `define`, scripts/build-cli.ts): the package root relative
 * to a chunk of dist/cli/<build>/ ("../../../"). Absent from source, where this file is src/domain/.
 */
declare const __PKI_BUNDLE_ROOT__: string | undefined;

const BUNDLE_ROOT = typeof __PKI_BUNDLE_ROOT__ === 'string' ? __PKI_BUNDLE_ROOT__ : undefined;

/** True in the prebuilt CLI, false run from source. */
export const BUNDLED = BUNDLE_ROOT !== undefined;

const ROOT_URL = new URL(BUNDLE_ROOT ?? '../../', import.meta.url);

/**
 * The modules the program runs in another thread or process, by name: the build bundles each as
 * dist/cli/<build>/<name>.js; from source each starts through its `<name>-launch.js` beside it (tsx's
 * loader first, as bin/pki.js does). A bundled process starts the workers of its own build, found
 * beside its chunks, even after a newer build is made.
 */
export const WORKER_SOURCES = {
  'ocsp-worker': 'src/instance/ocsp-worker.ts',
  'log-check-worker': 'src/instance/log-check-worker.ts',
  'inventory-worker': 'src/store/inventory-worker.ts',
  'pg-worker': 'src/store/postgres/pg-worker.ts',
} as const;

export type WorkerName = keyof typeof WORKER_SOURCES;

/**
 * The entry module of a worker, in the mode this process runs in: a bundled process starts
 * bundled workers (never tsx), a source process starts them from source through tsx.
 */
export function workerEntry(name: WorkerName): URL {
  if (BUNDLED) return new URL(`./${name}.js`, import.meta.url);
  return new URL(WORKER_SOURCES[name].replace(/\.ts$/, '-launch.js'), ROOT_URL);
}

/** workerEntry as a file path (child_process.fork and synckit take paths). */
export function workerEntryPath(name: WorkerName): string {
  return fileURLToPath(workerEntry(name));
}

/** A file or directory of the package by its path from the root (`src/store/migrations`); the root itself for ''. */
export function packagePath(relative = ''): string {
  return fileURLToPath(new URL(relative, ROOT_URL)).replace(/\/$/, '');
}
