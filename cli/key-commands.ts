import type { Command } from 'commander';
import { openInventory, type Inventory } from '../src/index.ts';
import { action, formatTable } from './common.ts';

/** `<parent> list`: the keys of one kind (EAB, EST enrollment) as a table or JSON, never their secrets. */
export function addKeyList<K>(parent: Command, o: { description: string; list: (inv: Inventory) => K[]; header: string[]; row: (k: K) => string[] }): void {
  parent
    .command('list')
    .description(o.description)
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { dir: string; json?: boolean }) => {
        const inv = await openInventory(opts.dir);
        try {
          const keys = o.list(inv);
          process.stdout.write(opts.json ? JSON.stringify(keys, null, 2) + '\n' : formatTable(o.header, keys.map(o.row)));
        } finally {
          inv.close();
        }
      }),
    );
}

/** `<parent> revoke <id>`: one key revoked (audited by `revoke`), its id echoed. */
export function addKeyRevoke(parent: Command, o: { description: string; argument: string; revoke: (inv: Inventory, id: string) => void }): void {
  parent
    .command('revoke')
    .description(o.description)
    .requiredOption('--dir <dir>', 'instance directory')
    .argument(`<${o.argument}>`, 'key id')
    .action(
      action(async (id: string, opts: { dir: string }) => {
        const inv = await openInventory(opts.dir);
        try {
          o.revoke(inv, id);
          process.stdout.write(`revoked ${id}\n`);
        } finally {
          inv.close();
        }
      }),
    );
}
