import type { Command } from 'commander';
import { initInstance, parseKeyAlg, PASSPHRASE_ENV, readSecretFile } from '../../src/index.ts';
import { action } from '../common.ts';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a CA instance: config, database, offline root and intermediate')
    .requiredOption('--dir <dir>', 'instance directory (must not exist or be empty)')
    .option('--name <name>', 'CA name used in the certificates', 'Example Internal CA')
    .option('--key-alg <alg>', 'ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-3072 | rsa-4096', 'ecdsa-p256')
    .option('--url <url>', 'plain-HTTP base URL written into AIA/CDP of issued certificates', 'http://127.0.0.1:9080')
    .option('--passphrase-file <file>', `file holding the key store passphrase (else ${PASSPHRASE_ENV}, else one is generated)`)
    .action(
      action(async (o: { dir: string; name: string; keyAlg: string; url: string; passphraseFile?: string }) => {
        const passphrase = process.env[PASSPHRASE_ENV] || (o.passphraseFile ? await readSecretFile(o.passphraseFile) : undefined);
        const r = await initInstance({ dir: o.dir, name: o.name, keyAlg: parseKeyAlg(o.keyAlg), baseUrl: o.url, passphrase });
        const out = [
          `Created CA instance in ${r.dir}`,
          `  config:        ${r.paths.config}`,
          `  database:      ${r.paths.database}`,
          `  root:          ${r.paths.rootCert}`,
          `  intermediate:  ${r.paths.intermediateCert}`,
          `  chain:         ${r.paths.chain}`,
          `Root SHA-256 fingerprint: ${r.rootFingerprint}`,
          `The root key (${r.paths.rootKey}) belongs offline: copy it to offline storage and delete it here once you have a backup.`,
        ];
        if (r.generatedPassphraseFile) {
          out.push(`No passphrase given: generated one into ${r.generatedPassphraseFile} (mode 0600). Keep a copy apart from the keys.`);
        }
        out.push(`Next: pki serve --dir ${o.dir}`);
        process.stdout.write(out.join('\n') + '\n');
      }),
    );
}
