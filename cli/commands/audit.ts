import type { Command } from 'commander';
import { CaError, openInventory, verifyLog, witness } from '../../src/index.ts';
import { action, formatTable } from '../common.ts';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check the audit hash chain, recompute the transparency log and hold it to its latest signed checkpoint, and cross-check the inventory against the log')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--vkey <key|file>', 'the log verifier key to trust (default: DIR/log.vkey)')
    .action(
      action(async (o: { dir: string; vkey?: string }) => {
        const inv = await openInventory(o.dir);
        try {
          const r = await verifyLog(inv, { vkey: o.vkey });
          if (r.findings.length) {
            for (const f of r.findings) process.stderr.write(`FAIL ${f}\n`);
            throw new CaError('conflict', `the audit trail and transparency log do not verify: ${r.findings.length} finding(s) above`);
          }
          if (r.unsigned) {
            process.stderr.write(`pki: warning: transparency log unsigned: ${r.unsigned}\n`);
            process.stdout.write(`audit trail intact: ${r.size} rows; transparency log matches the events (unsigned); inventory agrees with the log\n`);
            return;
          }
          const unsigned = r.size - (r.checkpointSize ?? 0);
          process.stdout.write(`audit trail intact: ${r.size} rows; transparency log matches its signed checkpoint of ${r.checkpointSize} entries${unsigned ? ` (${unsigned} newer entries not yet in a checkpoint)` : ''}; inventory agrees with the log\n`);
        } finally {
          inv.close();
        }
      }),
    );
  audit
    .command('witness')
    .description("keep the log's last signed checkpoint outside the instance and prove the current one extends it; a rolled-back or forked log exits 1")
    .requiredOption('--state <file>', 'where this witness keeps the pinned key and the last checkpoint (outside the instance)')
    .option('--url <url>', "the instance's plain-HTTP base URL (from another machine)")
    .option('--dir <dir>', 'a local instance directory instead of --url')
    .option('--vkey <key>', 'the log verifier key to pin on the first run (else taken from the log: trust on first use)')
    .action(
      action(async (o: { state: string; url?: string; dir?: string; vkey?: string }) => {
        if (!o.url === !o.dir) throw new CaError('malformed', 'give exactly one of --url <plain-http base> or --dir <instance>');
        if (o.url && !/^https?:\/\/[^\s]+$/.test(o.url)) throw new CaError('malformed', `--url must be an http:// base URL, got "${o.url}"`);
        const r = await witness({ state: o.state, source: o.url ? { url: o.url } : { dir: o.dir! }, vkey: o.vkey });
        if (r.pinned) process.stderr.write(`pinned the log key from the log itself (trust on first use): compare ${o.state} with the instance's log.vkey\n`);
        process.stdout.write(r.previousSize === null ? `witnessed checkpoint of ${r.size} entries (first run)\n` : `log consistent: ${r.previousSize} → ${r.size} entries\n`);
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
