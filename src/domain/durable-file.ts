import { randomBytes } from 'node:crypto';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A file about to be written: its temporary twin already exists, so the directory is known writable. */
export interface ReservedFile {
  /** Writes the whole content and gives it the name (see writeFileDurably); once only. */
  commit(data: string | Uint8Array): Promise<void>;
  /** Gives up: the temporary file goes, nothing is named. */
  abandon(): Promise<void>;
}

/**
 * Reserves `path` for writeFileDurably: creates the temporary file beside it now, so a missing
 * or unwritable directory (or a path that is a directory) fails before any work whose result
 * would be lost, such as a signature (`pki issue --out`).
 */
export async function reserveFile(path: string, o: { mode: number; exclusive?: boolean }): Promise<ReservedFile> {
  if ((await stat(path).catch(() => null))?.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', o.mode);
  let done = false;
  const finish = async () => {
    done = true;
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
  };
  return {
    commit: async (data) => {
      if (done) throw new Error(`${path}: already written`);
      try {
        await fh.writeFile(data);
        await fh.sync();
        await fh.close();
        if (o.exclusive) await link(tmp, path);
        else await rename(tmp, path);
      } finally {
        await finish();
      }
      await syncDirectory(dir);
    },
    abandon: () => (done ? Promise.resolve() : finish()),
  };
}

/**
 * Writes a whole file so that, once this resolves, it survives power loss and no reader ever
 * sees it half written: the bytes go to a temporary file beside it (fsync), which then takes
 * the name in one step (rename, or link for `exclusive`), and the directory is fsync'd so the
 * name itself is on disk. `exclusive`: never replace an existing file (EEXIST instead), so two
 * processes creating the same secret at once agree on one. The mode is set at creation.
 */
export async function writeFileDurably(path: string, data: string | Uint8Array, o: { mode: number; exclusive?: boolean }): Promise<void> {
  await (await reserveFile(path, o)).commit(data);
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
