import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCli, type CliBuild } from '../../scripts/build-cli.ts';
import { WORKER_SOURCES } from '../../src/domain/runtime-files.ts';
import { pkiBackground } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** What a copy of the package holds: everything scripts/build-cli.ts stamps, and node_modules (linked). */
const COPIED = ['src', 'cli', 'bin', 'package.json', 'scripts/build-cli.ts', 'scripts/build-agent.ts'];

/** A whole second: the stamp holds mtimes, and a test that sets one back must hit it exactly. */
export const FIXED_MTIME = 1_700_000_000;

export interface PackageCopy {
  root: string;
  bin: string;
  build: CliBuild;
  /** Runs `node <copy>/bin/pki.js args` to the end. */
  run(args: string[], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string };
  /** Like run, and the URL of every module Node loaded (a loader hook logs them). */
  modulesLoaded(args: string[], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string; modules: string[] };
  /** Starts a long-running command (serve); resolves once a stdout line matches `ready`. */
  background(args: string[], ready: RegExp, env?: NodeJS.ProcessEnv): Background;
}

export interface Background {
  started: Promise<string>;
  stdout(): string;
  stop(): Promise<number | null>;
}

/**
 * A copy of the package in a temp directory, built with scripts/build-cli.ts, in which every
 * `*-launch.js` (the source mode's worker entries) throws: a bundled process that started a worker
 * from source, through tsx, fails there instead of passing unnoticed. cli/version.ts is built
 * printing `[commit …]` and then put back to `(commit …)` with the same size and mtime, so the
 * stamp still matches: `--version` says which of the two ran.
 */
export async function builtCopy(): Promise<PackageCopy> {
  const root = tempDir('pki-prebuilt-');
  for (const rel of COPIED) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    cpSync(join(ROOT, rel), join(root, rel), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  for (const source of Object.values(WORKER_SOURCES)) {
    writeFileSync(join(root, source.replace(/\.ts$/, '-launch.js')), "throw new Error('a source launcher ran: a bundled process must start its bundled workers');\n");
  }
  const version = join(root, 'cli/version.ts');
  const text = readFileSync(version, 'utf8');
  writeFileSync(version, text.replace('(commit ${info.commit})', '[commit ${info.commit}]'));
  for (const file of [version, join(root, 'package.json')]) utimesSync(file, FIXED_MTIME, FIXED_MTIME);
  const build = await buildCli(root);
  writeFileSync(version, text);
  utimesSync(version, FIXED_MTIME, FIXED_MTIME);
  const bin = join(root, 'bin/pki.js');
  writeFileSync(join(root, 'log-hook.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(process.env.MODULE_LOG, url + '\\n'); return next(url, context); }\n`);
  writeFileSync(join(root, 'log-preload.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(root, 'log-hook.mjs')).href)});\n`);
  // The copy is no git checkout; a parent directory's repository must not answer for it.
  const base = { GIT_CEILING_DIRECTORIES: resolve(root, '..') };
  return {
    root,
    bin,
    build,
    run: (args, env = {}) => {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...base, PKI_FROM_SOURCE: '', ...env }, timeout: 60_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    modulesLoaded: (args, env = {}) => {
      const log = join(root, `modules-${Math.random().toString(36).slice(2)}.txt`);
      writeFileSync(log, '');
      const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(root, 'log-preload.mjs')).href, bin, ...args], { encoding: 'utf8', env: { ...process.env, ...base, PKI_FROM_SOURCE: '', ...env, MODULE_LOG: log }, timeout: 60_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
    },
    background: (args, ready, env = {}) => {
      const b = pkiBackground(args, ready, { ...base, PKI_FROM_SOURCE: '', ...env }, bin);
      b.started.catch(() => undefined);
      return {
        started: b.started,
        stdout: () => b.output().stdout,
        stop: async () => {
          if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGTERM');
          return b.exited;
        },
      };
    },
  };
}
