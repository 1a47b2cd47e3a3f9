// Which CLI bin/pki.js runs: the prebuilt bundle in dist/cli/ (scripts/build-cli.ts) only when it
// was built from the sources as they are now, else none (bin/pki.js then runs them through tsx).
// Plain JavaScript: it runs before any loader, and scripts/build-cli.ts writes the same fingerprint.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The bundle's directory and the stamp in it, from the package root. */
export const BUNDLE_DIR = 'dist/cli';
export const STAMP_FILE = 'stamp.json';

/**
 * What a bundle is built from: a change to any file here (edit, add, remove, rename) makes it
 * stale. Only what an installation holds (the Docker image has no scripts/): after editing the
 * build script itself, run `npm run build`.
 */
export const STAMPED = ['src', 'cli', 'package.json', 'bin/prebuilt.js'];

/**
 * SHA-256 over the path, size and mtime of every file under STAMPED: stat only, no reads (a few
 * ms for ~300 files). A `git checkout` or an editor writes a new mtime, so the stamp changes.
 */
export function sourceFingerprint(root) {
  const hash = createHash('sha256');
  const visit = (rel) => {
    let st;
    try {
      st = statSync(join(root, rel));
    } catch {
      hash.update(`${rel}\0missing\n`);
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(join(root, rel)).sort()) visit(`${rel}/${name}`);
    } else {
      hash.update(`${rel}\0${st.size}\0${st.mtimeMs}\n`);
    }
  };
  for (const rel of STAMPED) visit(rel);
  return hash.digest('hex');
}

/**
 * The bundle's main module when it may run: present, stamped, and the stamp equal to the sources'
 * fingerprint now; otherwise null with the reason. PKI_FROM_SOURCE=1 forces source mode.
 */
export function prebuiltMain(root, env = process.env) {
  if (env.PKI_FROM_SOURCE && env.PKI_FROM_SOURCE !== '0') return { main: null, reason: 'PKI_FROM_SOURCE is set' };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, BUNDLE_DIR, STAMP_FILE), 'utf8'));
  } catch {
    return { main: null, reason: 'no prebuilt CLI (npm run build)' };
  }
  if (stamp.fingerprint !== sourceFingerprint(root)) return { main: null, reason: 'the prebuilt CLI is older than the sources (npm run build)' };
  return { main: join(root, BUNDLE_DIR, stamp.main), reason: 'prebuilt' };
}
