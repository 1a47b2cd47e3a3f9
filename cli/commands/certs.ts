import type { Command } from 'commander';
import { once } from 'node:events';
import { CaError, openInventory, parseDuration, toPem, type CertListing, type ListStatus } from '../../src/index.ts';
import { action, formatTable } from '../common.ts';

const STATUSES = ['valid', 'revoked', 'expired', 'pending', 'failed'] as const;
/** Rows read per query: memory stays flat however many certificates match. */
const PAGE = 1000;
/** A table shows this many rows unless --limit or --all says otherwise. */
const TABLE_LIMIT = 100;

interface ListOptions {
  dir: string;
  status?: string;
  expiring?: string;
  limit?: string;
  after?: string;
  all?: boolean;
  json?: boolean;
  jsonl?: boolean;
  pem?: boolean;
}

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('certificate inventory');
  certs
    .command('list')
    .description('list issued certificates in serial order, a page at a time (keyset: --after the last serial shown)')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--status <status>', `only ${STATUSES.join(' | ')}`)
    .option('--expiring <duration>', 'only valid certificates expiring within this time, e.g. 7d')
    .option('--limit <n>', `at most this many (table default ${TABLE_LIMIT}; --json/--jsonl default: all)`)
    .option('--after <serial>', 'start after this serial (the last one of the previous page)')
    .option('--all', 'every matching certificate (streamed)')
    .option('--json', 'a JSON array (complete: every match, or exactly --limit with the rest named on stderr)')
    .option('--jsonl', 'JSON Lines: one certificate per line, streamed')
    .option('--pem', 'include each certificate as PEM (--json/--jsonl only)')
    .action(action(list));
  certs
    .command('stats')
    .description('counts: live, expiring, expired, revoked, pending, failed, and live by profile')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--expiring <duration>', 'what counts as expiring soon', '30d')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { dir: string; expiring: string; json?: boolean }) => {
        const within = parseDuration(o.expiring);
        const inv = await openInventory(o.dir);
        try {
          const now = new Date();
          const s = inv.store.inventory.stats(now, new Date(now.getTime() + within));
          if (o.json) return void process.stdout.write(JSON.stringify({ ...s, expiringWithin: o.expiring }, null, 2) + '\n');
          const counts = (['live', 'expiring', 'expired', 'revoked', 'pending', 'failed'] as const).map((k) => [k === 'expiring' ? `expiring (${o.expiring})` : k, String(s[k])]);
          process.stdout.write(formatTable(['', 'CERTIFICATES'], counts) + '\n' + formatTable(['PROFILE', 'LIVE', 'EXPIRING', 'REVOKED'], s.byProfile.map((p) => [p.profile, String(p.live), String(p.expiring), String(p.revoked)])));
        } finally {
          inv.close();
        }
      }),
    );
}

async function list(o: ListOptions): Promise<void> {
  if (o.status && !(STATUSES as readonly string[]).includes(o.status)) throw new CaError('malformed', `unknown status "${o.status}": use one of ${STATUSES.join(', ')}`);
  if (o.json && o.jsonl) throw new CaError('malformed', 'use one of --json and --jsonl');
  if (o.pem && !o.json && !o.jsonl) throw new CaError('malformed', '--pem needs --json or --jsonl');
  if (o.limit !== undefined && o.all) throw new CaError('malformed', 'use one of --limit and --all');
  if (o.limit !== undefined && !/^[1-9]\d{0,8}$/.test(o.limit)) throw new CaError('malformed', `--limit must be a whole number from 1, not "${o.limit}"`);
  if (o.after !== undefined && !/^[0-9a-f]{1,64}$/i.test(o.after)) throw new CaError('malformed', `--after must be a serial in hex (as listed), not "${o.after}"`);
  const expiringMs = o.expiring ? parseDuration(o.expiring) : undefined;
  const machine = o.json || o.jsonl;
  const limit = o.limit !== undefined ? Number(o.limit) : o.all || machine ? Infinity : TABLE_LIMIT;
  const inv = await openInventory(o.dir);
  try {
    const now = new Date();
    const query = {
      status: o.status as ListStatus | undefined,
      expiringBefore: expiringMs !== undefined ? new Date(now.getTime() + expiringMs) : undefined,
      now,
      withDer: o.pem,
    };
    const out = new Output(o.json ? 'json' : o.jsonl ? 'jsonl' : 'table', now);
    let after = o.after?.toLowerCase();
    let shown = 0;
    let more = false;
    for (;;) {
      // One row past what is wanted tells whether more match, without counting them all.
      const want = Math.min(PAGE, limit - shown);
      const rows = inv.store.inventory.page({ ...query, after, limit: want + 1 });
      more = rows.length > want;
      const page = more ? rows.slice(0, want) : rows;
      await out.rows(page);
      shown += page.length;
      if (page.length > 0) after = page[page.length - 1]!.serial;
      if (!more || shown >= limit) break;
    }
    await out.end(shown);
    if (more) {
      process.stderr.write(`${shown} shown; more certificates match: continue with --after ${after}${o.limit === undefined && !machine ? ' (or --all)' : ''}\n`);
    }
  } finally {
    inv.close();
  }
}

/** Writes rows as they are read: a table (rows of one page aligned together), a JSON array, or JSON Lines. */
class Output {
  #first = true;
  constructor(
    readonly kind: 'table' | 'json' | 'jsonl',
    readonly now: Date,
  ) {}

  async rows(rows: CertListing[]): Promise<void> {
    if (rows.length === 0) return;
    let text: string;
    if (this.kind === 'table') {
      const table = formatTable(['SERIAL', 'STATUS', 'PROFILE', 'NOT AFTER', 'NAMES'], rows.map((r) => [r.serial, displayStatus(r, this.now), r.profile, r.notAfter.toISOString().replace(/\.000Z$/, 'Z'), r.sans.join(', ') || r.subject]));
      text = this.#first ? table : table.slice(table.indexOf('\n') + 1); // one header
    } else if (this.kind === 'jsonl') text = rows.map((r) => JSON.stringify(toJson(r, this.now)) + '\n').join('');
    else text = (this.#first ? '[\n' : ',\n') + rows.map((r) => '  ' + JSON.stringify(toJson(r, this.now))).join(',\n');
    this.#first = false;
    await write(text);
  }

  async end(shown: number): Promise<void> {
    if (this.kind === 'json') await write(shown === 0 ? '[]\n' : '\n]\n');
    else if (this.kind === 'table' && shown === 0) await write('no certificates match\n');
  }
}

/** Waits when stdout's buffer is full, so a million rows never sit in memory at once. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

function displayStatus(r: CertListing, now: Date): string {
  return r.status === 'valid' && r.notAfter <= now ? 'expired' : r.status;
}

function toJson(r: CertListing, now: Date) {
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
    ...(r.der ? { pem: toPem(r.der, 'CERTIFICATE') } : {}),
  };
}
