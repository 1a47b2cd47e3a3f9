import { mkdir, open, readdir, readFile, readlink, rename, rm, symlink, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../domain/durable-file.ts';

/**
 * The on-disk layout of an enrolled identity. Every pair lives in its own
 * version directory; `current` is a symlink swapped with one rename(2), and
 * `key.pem`, `cert.pem`, `chain.pem`, `fullchain.pem` are stable symlinks
 * through it. So at every instant (also after a crash at any point) the
 * key and certificate a reader opens belong together.
 *
 *   DIR/versions/<id>/{key,cert,chain,fullchain}.pem
 *   DIR/current -> versions/<id>
 *   DIR/key.pem -> current/key.pem   (and the others)
 */
export interface CertPair {
  keyPem: string;
  certPem: string; // leaf only
  chainPem: string; // intermediates
}

export const PAIR_FILES = ['key.pem', 'cert.pem', 'chain.pem', 'fullchain.pem'] as const;
const KEEP_VERSIONS = 2;

async function writeDurable(path: string, data: string, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Installs a new pair atomically and returns its version id. The previous pair stays usable until the swap. */
export async function installPair(dir: string, pair: CertPair, versionId: string): Promise<string> {
  const versions = join(dir, 'versions');
  await mkdir(versions, { recursive: true, mode: 0o755 });
  const tmpDir = join(versions, `.${versionId}.partial`);
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { mode: 0o755 });
  await writeDurable(join(tmpDir, 'key.pem'), pair.keyPem, 0o600);
  await writeDurable(join(tmpDir, 'cert.pem'), pair.certPem, 0o644);
  await writeDurable(join(tmpDir, 'chain.pem'), pair.chainPem, 0o644);
  await writeDurable(join(tmpDir, 'fullchain.pem'), pair.certPem + pair.chainPem, 0o644);
  await syncDirectory(tmpDir);
  await rename(tmpDir, join(versions, versionId));
  await syncDirectory(versions);

  // The swap: a fresh symlink renamed over `current` is atomic on POSIX file systems.
  const tmpLink = join(dir, '.current.tmp');
  await rm(tmpLink, { force: true });
  await symlink(join('versions', versionId), tmpLink);
  await rename(tmpLink, join(dir, 'current'));
  for (const f of PAIR_FILES) {
    const link = join(dir, f);
    const target = join('current', f);
    if ((await readlink(link).catch(() => null)) !== target) {
      await rm(link, { force: true });
      await symlink(target, link);
    }
  }
  await syncDirectory(dir);
  await pruneVersions(dir, versionId);
  return versionId;
}

/** Removes old versions and leftovers of interrupted installs, keeping the newest few. */
async function pruneVersions(dir: string, currentId: string): Promise<void> {
  const versions = join(dir, 'versions');
  const entries = (await readdir(versions)).sort();
  const complete = entries.filter((e) => !e.startsWith('.'));
  const keep = new Set([currentId, ...complete.slice(-KEEP_VERSIONS)]);
  for (const e of entries) {
    if (!keep.has(e)) await rm(join(versions, e), { recursive: true, force: true });
  }
}

/** The pair `current` points at, or null before the first enrollment. */
export async function readCurrentPair(dir: string): Promise<(CertPair & { versionId: string }) | null> {
  const target = await readlink(join(dir, 'current')).catch(() => null);
  if (!target) return null;
  const base = join(dir, target);
  const [keyPem, certPem, chainPem] = await Promise.all(['key.pem', 'cert.pem', 'chain.pem'].map((f) => readFile(join(base, f), 'utf8')));
  return { keyPem: keyPem!, certPem: certPem!, chainPem: chainPem!, versionId: target.split('/').pop()! };
}

export async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null)) !== null;
}
