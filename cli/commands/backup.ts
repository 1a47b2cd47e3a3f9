import { rename, stat } from 'node:fs/promises';
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
          await inv.store.db.backup(tmp);
          await rename(tmp, o.out);
          const counts = inv.store.certificates.countByStatus();
          process.stdout.write(`backup written to ${o.out} (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')})\n`);
        } finally {
          inv.close();
        }
      }),
    );
}
