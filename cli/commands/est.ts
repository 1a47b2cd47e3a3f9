import type { Command } from 'commander';
import { CaError, createEstKey, listEstKeys, openInventory, parseDuration, revokeEstKey } from '../../src/index.ts';
import { action } from '../common.ts';
import { addKeyList, addKeyRevoke } from '../key-commands.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

/** `pki est keys create|list|revoke`: EST enrollment keys (HTTP Basic bootstrap credentials for simpleenroll, RFC 7030). */
export function registerEst(program: Command): void {
  const keys = program.command('est').description('EST (RFC 7030) for devices').command('keys').description('enrollment keys: HTTP Basic credentials for simpleenroll, each limited to scopes');
  keys
    .command('create')
    .description('create a key; prints its id and secret once')
    .requiredOption('--dir <dir>', 'instance directory')
    .requiredOption('--label <label>', 'what the key is for, e.g. cameras-floor-3')
    .option('--allow <scope>', 'identifiers it may enroll: dns:NAME, dns:*.ZONE, ip:CIDR, uri:URI, uri:URI/* (repeatable)', collect, [])
    .option('--expires <duration>', 'the key enrolls nothing after this time, e.g. 7d (default: never)')
    .option('--max-uses <n>', 'how many enrollments the key allows (default: unlimited)')
    .option('--json', 'print {"id": …, "secret": …}')
    .action(
      action(async (o: { dir: string; label: string; allow: string[]; expires?: string; maxUses?: string; json?: boolean }) => {
        const lifetimeMs = o.expires === undefined ? undefined : parseDuration(o.expires);
        if (o.maxUses !== undefined && !/^[1-9][0-9]{0,8}$/.test(o.maxUses)) throw new CaError('malformed', `--max-uses "${o.maxUses}" must be a whole number of at least 1`);
        const inv = await openInventory(o.dir);
        try {
          const key = await createEstKey(inv, { label: o.label, scopes: o.allow, lifetimeMs, maxUses: o.maxUses === undefined ? undefined : Number(o.maxUses) });
          if (o.json) {
            process.stdout.write(JSON.stringify(key) + '\n');
            return;
          }
          process.stdout.write(
            [
              `id:      ${key.id}`,
              `secret:  ${key.secret}`,
              `scopes:  ${o.allow.join(', ')}`,
              'The secret is shown only now. A device enrolls with: curl --user ID:SECRET … /.well-known/est/simpleenroll',
            ].join('\n') + '\n',
          );
        } finally {
          inv.close();
        }
      }),
    );
  addKeyList(keys, {
    description: 'list keys (never their secrets)',
    list: listEstKeys,
    header: ['ID', 'LABEL', 'STATUS', 'USES', 'CREATED', 'EXPIRES', 'SCOPES'],
    row: (k) => [k.id, k.label, k.status, `${k.uses}/${k.maxUses ?? '∞'}`, k.createdAt, k.expiresAt ?? 'never', k.scopes.join(' ')],
  });
  addKeyRevoke(keys, { description: 'revoke a key: it enrolls nothing more', argument: 'id', revoke: revokeEstKey });
}
