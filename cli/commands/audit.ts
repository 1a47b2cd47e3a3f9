import type { Command } from 'commander';
import { CaError, openInventory } from '../../src/index.ts';
import { action, formatTable } from '../common.ts';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check the hash chain of the audit trail; names the first broken row')
    .requiredOption('--dir <dir>', 'instance directory')
    .action(
      action(async (o: { dir: string }) => {
        const inv = await openInventory(o.dir);
        try {
          const r = inv.store.audit.verifyChain();
          if (!r.ok) throw new CaError('conflict', `audit trail broken at row ${r.brokenId}: ${r.reason}`);
          process.stdout.write(`audit trail intact: ${r.count} rows\n`);
        } finally {
          inv.close();
        }
      }),
    );
  audit
    .command('list')
    .description('list audit events')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--since <time>', 'only events at or after this ISO-8601 time')
    .option('--target <id>', 'only events about this serial or account')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { dir: string; since?: string; target?: string; json?: boolean }) => {
        const since = o.since ? new Date(o.since) : undefined;
        if (since && Number.isNaN(since.getTime())) throw new CaError('malformed', `invalid --since "${o.since}": use an ISO-8601 time such as 2026-01-31T12:00:00Z`);
        const inv = await openInventory(o.dir);
        try {
          const events = inv.store.audit.list({ since, target: o.target });
          if (o.json) {
            process.stdout.write(JSON.stringify(events.map((e) => ({ ...e, at: e.at.toISOString() })), null, 2) + '\n');
          } else {
            process.stdout.write(
              formatTable(
                ['ID', 'AT', 'ACTION', 'ACTOR', 'TARGET', 'DETAILS'],
                events.map((e) => [String(e.id), e.at.toISOString(), e.action, e.actor, e.target ?? '', JSON.stringify(e.details)]),
              ),
            );
          }
        } finally {
          inv.close();
        }
      }),
    );
}
