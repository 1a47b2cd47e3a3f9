import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CaError } from '../domain/errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on an identity directory so overlapping cron/timer runs
 * never interleave. A lock left by a process that no longer exists is taken over.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (holder && alive(holder) && holder !== process.pid) {
        throw new CaError('conflict', `another pki renew/enroll (pid ${holder}) is working on ${dir}`);
      }
      await rm(path, { force: true });
    }
  }
  throw new CaError('conflict', `cannot take the lock ${path}`);
}
