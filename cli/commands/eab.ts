import type { Command } from 'commander';
import { CaError, createEab, listEab, openInventory, parseDuration, revokeEab } from '../../src/index.ts';
import { action } from '../common.ts';
import { addKeyList, addKeyRevoke } from '../key-commands.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

/** `pki eab create|list|revoke`: external account binding keys with issuance scopes (RFC 8555 §7.3.4). */
export function registerEab(program: Command): void {
  const eab = program.command('eab').description('ACME external account binding keys, each limited to issuance scopes');
  eab
    .command('create')
    .description('create a key; prints its kid and HMAC key once')
    .requiredOption('--dir <dir>', 'instance directory')
    .requiredOption('--label <label>', 'who the key is for, e.g. payments')
    .option('--allow <scope>', 'identifiers it may order: dns:NAME, dns:*.ZONE, ip:CIDR, uri:URI, uri:URI/* (repeatable)', collect, [])
    .option('--expires <duration>', 'the key can bind an account only within this time, e.g. 7d (default: 30d)', '30d')
    .option('--max-accounts <n>', 'a fleet key: how many accounts (machines) it may bind, each held to its scopes (default 1)')
    .option('--json', 'print {"kid": …, "hmacKey": …}')
    .action(
      action(async (o: { dir: string; label: string; allow: string[]; expires: string; maxAccounts?: string; json?: boolean }) => {
        const lifetimeMs = parseDuration(o.expires);
        if (o.maxAccounts !== undefined && !/^[1-9][0-9]{0,8}$/.test(o.maxAccounts)) throw new CaError('malformed', `--max-accounts "${o.maxAccounts}" must be a whole number of at least 1`);
        const maxAccounts = o.maxAccounts === undefined ? undefined : Number(o.maxAccounts);
        const inv = await openInventory(o.dir);
        try {
          const key = await createEab(inv, { label: o.label, scopes: o.allow, lifetimeMs, maxAccounts });
          if (o.json) {
            process.stdout.write(JSON.stringify({ kid: key.kid, hmacKey: key.hmacKey }) + '\n');
            return;
          }
          process.stdout.write(
            [
              `kid:      ${key.kid}`,
              `hmac key: ${key.hmacKey}`,
              `scopes:   ${o.allow.join(', ')}`,
              maxAccounts && maxAccounts > 1
                ? `accounts: up to ${maxAccounts}, each bound before ${new Date(Date.now() + lifetimeMs).toISOString()}`
                : `expires:  ${new Date(Date.now() + lifetimeMs).toISOString()} (unless an account is bound before)`,
              'The HMAC key is shown only now: hand it to the workload (e.g. lego --eab --kid KID --hmac KEY).',
            ].join('\n') + '\n',
          );
        } finally {
          inv.close();
        }
      }),
    );
  addKeyList(eab, {
    description: 'list keys (never their HMAC keys)',
    list: listEab,
    header: ['KID', 'LABEL', 'STATUS', 'ACCOUNT', 'ACCOUNTS', 'CREATED', 'EXPIRES', 'SCOPES'],
    row: (k) => [k.kid, k.label, k.status, k.account ?? '-', `${k.accounts}/${k.maxAccounts}`, k.createdAt, k.expiresAt ?? 'never', k.scopes.join(' ')],
  });
  addKeyRevoke(eab, { description: 'revoke a key: it cannot bind, and its accounts can no longer order', argument: 'kid', revoke: revokeEab });
}
