#!/usr/bin/env node
// The `pki` command. `npm ci` builds the CLI into dist/cli/ (package.json "prepare" runs
// scripts/build-cli.ts: one esbuild bundle, packages left in node_modules), and this runs it when
// its stamp matches the sources as they are now (bin/prebuilt.js): a start then loads plain
// JavaScript instead of compiling every module through tsx's loader (0.4 s against 0.9 s for
// `pki --version`, docs/benchmarks.md "Prebuilt CLI"). With no bundle, a stale one (an edit since
// the build, a checkout) or PKI_FROM_SOURCE=1, it runs the TypeScript sources through tsx as
// before, so what runs is always the code that is checked out. Workers follow the same mode.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { prebuiltMain } from './prebuilt.js';

const { main } = prebuiltMain(fileURLToPath(new URL('..', import.meta.url)));
if (main) {
  await import(pathToFileURL(main).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
