import { open, rename, rm, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { CaError, openInventory } from '../../src/index.ts';
import { action } from '../common.ts';

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description("copy the instance database with SQLite's online backup (safe while pki serve runs)")
    .requiredOption('--dir <dir>', 'instance directory')
    .requiredOption('--out <file>', 'backup file to write (must not exist)')
    .action(
      action(async (o: { dir: string; out: string }) => {
        if (await stat(o.out).catch(() => null)) throw new CaError('conflict', `${o.out} already exists: refusing to overwrite a backup`);
        const inv = await openInventory(o.dir);
        try {
          const tmp = `${o.out}.partial`;
          // The copy holds what the database holds (EAB MACs, the audit trail): created 0600 like it,
          // before SQLite writes a byte (an empty file is an empty database to SQLite), whatever the umask.
          await rm(tmp, { force: true }); // left by a backup that was killed
          await (await open(tmp, 'wx', 0o600)).close();
          try {
            await inv.store.backupTo(tmp);
            await rename(tmp, o.out);
          } catch (e) {
            await rm(tmp, { force: true });
            throw e;
          }
          const counts = inv.store.certificates.countByStatus();
          process.stdout.write(`backup written to ${o.out} (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')})\n`);
        } finally {
          inv.close();
        }
      }),
    );
}
