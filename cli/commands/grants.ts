import type { Command } from 'commander';
import { addGrant, formatDuration, listGrants, removeGrant } from '../../src/index.ts';
import { action, writeList, withInventory } from '../common.ts';

const collect = (v: string, acc: string[]) => [...acc, v];
const clock = { now: () => new Date() };

/** `pki grants add|list|remove`: what OAuth clients may ask tokens for (docs/oauth.md); nothing without a grant. */
export function registerGrants(program: Command): void {
  const grants = program.command('grants').description('OAuth grants: which clients (by certificate) may get tokens for which audience and scopes');
  grants
    .command('add')
    .description('allow clients matching --client to get tokens for --audience with --scope')
    .requiredOption('--dir <dir>', 'instance directory')
    .requiredOption('--client <pattern>', "a SPIFFE ID or DNS name, 'spiffe://TD/PATH/*' (whole segments) or '*.ZONE'")
    .requiredOption('--audience <uri>', 'the resource server (RFC 8707 resource), e.g. https://ledger.internal')
    .requiredOption('--scope <scope>', 'a scope it may ask for (repeatable)', collect, [])
    .option('--max-ttl <duration>', 'tokens under this grant live at most this long (≤ 15m)')
    .option('--require <req>', 'step-up: fresh:DURATION, profile:NAME or ttl:DURATION (repeatable)', collect, [])
    .option('--json', 'print the grant as JSON')
    .action(
      action(async (o: { dir: string; client: string; audience: string; scope: string[]; maxTtl?: string; require: string[]; json?: boolean }) => {
        const g = await withInventory(o.dir, (inv) => addGrant(inv, { client: o.client, audience: o.audience, scopes: o.scope, maxTtl: o.maxTtl, requires: o.require }, clock));
        process.stdout.write(o.json ? JSON.stringify(g) + '\n' : `added grant ${g.id}: ${g.client} → ${g.audience} [${g.scopes.join(' ')}]\n`);
      }),
    );
  grants
    .command('list')
    .description('list the grants')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { dir: string; json?: boolean }) => {
        const rows = await withInventory(o.dir, listGrants);
        writeList(rows, o.json, ['ID', 'CLIENT', 'AUDIENCE', 'SCOPES', 'MAX TTL', 'REQUIRES'], (g) => [
          g.id,
          g.client,
          g.audience,
          g.scopes.join(' '),
          g.maxTtlMs === null ? '15m' : formatDuration(g.maxTtlMs),
          g.requires.join(' ') || '-',
        ]);
      }),
    );
  grants
    .command('remove')
    .description('remove a grant: no new tokens under it (tokens already issued live out their few minutes)')
    .requiredOption('--dir <dir>', 'instance directory')
    .argument('<id>', 'grant id (pki grants list)')
    .action(
      action(async (id: string, o: { dir: string }) => {
        const g = await withInventory(o.dir, (inv) => removeGrant(inv, id, clock));
        process.stdout.write(`removed grant ${g.id} (${g.client} → ${g.audience})\n`);
      }),
    );
}
