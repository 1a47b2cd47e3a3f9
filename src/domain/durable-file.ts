import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a whole file so that, once this resolves, it survives power loss and no reader ever
 * sees it half written: the bytes go to a temporary file beside it (fsync), which then takes
 * the name in one step (rename, or link for `exclusive`), and the directory is fsync'd so the
 * name itself is on disk. `exclusive`: never replace an existing file (EEXIST instead), so two
 * processes creating the same secret at once agree on one. The mode is set at creation,
 * whatever the umask allows later readers to see in between: there is no in between.
 */
export async function writeFileDurably(path: string, data: string | Uint8Array, o: { mode: number; exclusive?: boolean }): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', o.mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (o.exclusive) await link(tmp, path);
    else await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDirectory(dir);
}

/** fsync of a directory: makes the names created or renamed in it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
