import type { Command } from 'commander';
import { listKeysInUse, rewrapKeyFiles, rotateTokenKey, type KeyInUse } from '../../src/index.ts';
import { action, formatTable } from '../common.ts';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('CA keys and where they live');
  keys
    .command('list')
    .description('the keys in use: role, store, algorithm and SHA-256 fingerprint of the public key (SPKI)')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--json', 'machine-readable output')
    .option('--passphrase-file <file>', 'key store passphrase file (file key store)')
    .action(
      action(async (o: { dir: string; json?: boolean; passphraseFile?: string }) => {
        const rows = await listKeysInUse({ dir: o.dir, passphraseFile: o.passphraseFile });
        process.stdout.write(o.json ? JSON.stringify(rows, null, 2) + '\n' : toTable(rows));
        // A key that does not match its certificate is a broken instance: say so in the exit code too.
        if (rows.some((r) => r.status === 'mismatch')) process.exitCode = 1;
      }),
    );
  keys
    .command('rewrap')
    .description('re-encrypt key files written at an older KDF setting with the current one (PBKDF2-SHA256, 600,000 iterations); keys are also re-wrapped on first unlock')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--passphrase-file <file>', 'key store passphrase file (file key store)')
    .action(
      action(async (o: { dir: string; passphraseFile?: string }) => {
        const rewritten = await rewrapKeyFiles({ dir: o.dir, passphraseFile: o.passphraseFile });
        process.stdout.write(rewritten.length ? rewritten.map((f) => `re-wrapped ${f}\n`).join('') : 'every key file is at the current KDF setting\n');
      }),
    );
  keys
    .command('rotate-token')
    .description('new ES256 OAuth token-signing key (docs/oauth.md): published at once, signs a minute later; the old key stays in the JWKS until its tokens expire')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--passphrase-file <file>', 'key store passphrase file (file key store)')
    .action(
      action(async (o: { dir: string; passphraseFile?: string }) => {
        const k = await rotateTokenKey({ dir: o.dir, passphraseFile: o.passphraseFile });
        process.stdout.write(`token-signing key ${k.label} (kid ${k.kid}) is published now and signs from ${k.signsFrom.toISOString()}; ${k.retired} older key(s) retire then and stay published until their tokens expire\n`);
      }),
    );
}

function toTable(rows: KeyInUse[]): string {
  return formatTable(
    ['ROLE', 'LABEL', 'STORE', 'ALGORITHM', 'STATUS', 'SPKI SHA-256', 'LOCATION'],
    rows.map((r) => [r.role, r.label, r.store, r.algorithm, r.status, r.spkiSha256, r.location]),
  );
}
