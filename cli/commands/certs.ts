import type { Command } from 'commander';
import { CaError, openInventory, parseDuration, type CertRecord } from '../../src/index.ts';
import { action, formatTable } from '../common.ts';

const STATUSES = ['valid', 'revoked', 'expired', 'pending'] as const;

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('certificate inventory');
  certs
    .command('list')
    .description('list issued certificates')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--status <status>', `only ${STATUSES.join(' | ')}`)
    .option('--expiring <duration>', 'only valid certificates expiring within this time, e.g. 7d')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { dir: string; status?: string; expiring?: string; json?: boolean }) => {
        if (o.status && !(STATUSES as readonly string[]).includes(o.status)) {
          throw new CaError('malformed', `unknown status "${o.status}": use one of ${STATUSES.join(', ')}`);
        }
        const expiringMs = o.expiring ? parseDuration(o.expiring) : undefined;
        const inv = await openInventory(o.dir);
        try {
          const now = new Date();
          const rows = inv.store.certificates.list({
            status: o.status as (typeof STATUSES)[number] | undefined,
            expiringBefore: expiringMs ? new Date(now.getTime() + expiringMs) : undefined,
            now,
          });
          process.stdout.write(o.json ? JSON.stringify(rows.map((r) => toJson(r, now)), null, 2) + '\n' : toTable(rows, now));
        } finally {
          inv.close();
        }
      }),
    );
}

function displayStatus(r: CertRecord, now: Date): string {
  return r.status === 'valid' && r.notAfter <= now ? 'expired' : r.status;
}

function toJson(r: CertRecord, now: Date) {
  return {
    serial: r.serial,
    status: displayStatus(r, now),
    profile: r.profile,
    subject: r.subject,
    sans: r.sans,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    revokedAt: r.revokedAt?.toISOString() ?? null,
    reason: r.reason,
  };
}

function toTable(rows: CertRecord[], now: Date): string {
  if (rows.length === 0) return 'no certificates match\n';
  return formatTable(
    ['SERIAL', 'STATUS', 'PROFILE', 'NOT AFTER', 'NAMES'],
    rows.map((r) => [r.serial, displayStatus(r, now), r.profile, r.notAfter.toISOString().replace(/\.000Z$/, 'Z'), r.sans.join(', ') || r.subject]),
  );
}
