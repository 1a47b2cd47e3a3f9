import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CaError, initInstance, parseKeyAlg, PASSPHRASE_ENV, readSecretFile, resolvePin, type InitOptions } from '../../src/index.ts';
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
    .option('--key-store <type>', 'where the intermediate key lives: file | pkcs11', 'file')
    .option('--root-key-store <type>', 'where the root key lives: file (encrypted, to take offline) | pkcs11 (same token)', 'file')
    .option('--pkcs11-module <path>', 'PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so')
    .option('--pkcs11-token <label>', 'PKCS#11 token label')
    .option('--pkcs11-slot <id>', 'PKCS#11 slot ID (instead of --pkcs11-token)')
    .option('--pkcs11-pin-env <name>', 'environment variable holding the token user PIN (its name goes into the config, never the PIN)')
    .option('--pkcs11-pin-file <file>', 'mode-0600 file holding the token user PIN')
    .option('--permit <subtree>', 'name constraint on the intermediate: dns:.corp.internal | ip:10.0.0.0/8 | uri:spiffe://corp/ (repeatable)', collect, [])
    .option('--exclude <subtree>', 'excluded name constraint on the intermediate, same syntax as --permit (repeatable)', collect, [])
    .option('--database <url>', 'PostgreSQL for replicas: postgres://user@host:port/db (an empty database; default: DIR/pki.db, SQLite)')
    .option('--no-require-eab', 'ACME accounts need no external account binding (quick-start; acme.requireEab in the config)')
    .action(
      action(async (o: InitFlags) => {
        const passphrase = process.env[PASSPHRASE_ENV] || (o.passphraseFile ? await readSecretFile(o.passphraseFile) : undefined);
        const keyStore = await keyStoreFromFlags(o);
        const r = await initInstance({ dir: o.dir, name: o.name, keyAlg: parseKeyAlg(o.keyAlg), baseUrl: o.url, passphrase, keyStore, rootInKeyStore: o.rootKeyStore === 'pkcs11', requireEab: o.requireEab, ...(o.database ? { database: o.database } : {}), nameConstraints: { permit: o.permit, exclude: o.exclude } });
        const out = [
          `Created CA instance in ${r.dir}`,
          `  config:        ${r.paths.config}`,
          `  database:      ${r.paths.database}`,
          `  root:          ${r.paths.rootCert}`,
          `  intermediate:  ${r.paths.intermediateCert}`,
          `  chain:         ${r.paths.chain}`,
          `Root SHA-256 fingerprint: ${r.rootFingerprint}`,
        ];
        if (o.permit.length || o.exclude.length) {
          out.push(`Name constraints (critical) on the intermediate: permit ${o.permit.join(' ') || '-'}; exclude ${o.exclude.join(' ') || '-'}`);
          out.push('  the ACME listener certificate is bound by them too: set acme.hostnames in pki.json to names inside them.');
        }
        if (r.rootKeyStore === 'file') {
          out.push(`The root key (${r.paths.rootKey}) belongs offline: copy it to offline storage and delete it here once you have a backup.`);
        } else {
          out.push(`The root key is on the ${r.rootKeyStore} token as "${r.paths.rootKey}", next to the intermediate key.`);
        }
        if (r.generatedPassphraseFile) {
          out.push(`No passphrase given: generated one into ${r.generatedPassphraseFile} (mode 0600). Keep a copy apart from the keys.`);
        }
        out.push(`Next: pki serve --dir ${o.dir}`);
        process.stdout.write(out.join('\n') + '\n');
      }),
    );
}

interface InitFlags {
  dir: string;
  permit: string[];
  exclude: string[];
  requireEab: boolean;
  name: string;
  keyAlg: string;
  url: string;
  passphraseFile?: string;
  database?: string;
  keyStore: string;
  rootKeyStore: string;
  pkcs11Module?: string;
  pkcs11Token?: string;
  pkcs11Slot?: string;
  pkcs11PinEnv?: string;
  pkcs11PinFile?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The intermediate's key store from the flags; for PKCS#11 the config records where the PIN is, never the PIN. */
async function keyStoreFromFlags(o: InitFlags): Promise<InitOptions['keyStore']> {
  if (!['file', 'pkcs11'].includes(o.keyStore)) throw new CaError('malformed', `unknown key store "${o.keyStore}": use file or pkcs11`);
  if (!['file', 'pkcs11'].includes(o.rootKeyStore)) throw new CaError('malformed', `unknown root key store "${o.rootKeyStore}": use file or pkcs11`);
  if (o.rootKeyStore === 'pkcs11' && o.keyStore !== 'pkcs11') throw new CaError('malformed', '--root-key-store pkcs11 needs --key-store pkcs11 (the root key goes on the same token)');
  if (o.keyStore === 'file') return undefined;
  if (!o.pkcs11Module) throw new CaError('malformed', '--key-store pkcs11 needs --pkcs11-module PATH');
  if ((o.pkcs11Token === undefined) === (o.pkcs11Slot === undefined)) throw new CaError('malformed', '--key-store pkcs11 needs exactly one of --pkcs11-token LABEL or --pkcs11-slot ID');
  if (!o.pkcs11PinEnv && !o.pkcs11PinFile) throw new CaError('malformed', '--key-store pkcs11 needs --pkcs11-pin-env NAME or --pkcs11-pin-file FILE');
  const slot = o.pkcs11Slot === undefined ? undefined : Number(o.pkcs11Slot);
  if (slot !== undefined && !(Number.isInteger(slot) && slot >= 0)) throw new CaError('malformed', `--pkcs11-slot must be a slot ID (a non-negative integer), got "${o.pkcs11Slot}"`);
  const settings: Record<string, unknown> = {
    module: resolve(o.pkcs11Module),
    ...(o.pkcs11Token !== undefined ? { token: o.pkcs11Token } : { slot }),
    ...(o.pkcs11PinEnv ? { pinEnv: o.pkcs11PinEnv } : {}),
    ...(o.pkcs11PinFile ? { pinFile: resolve(o.pkcs11PinFile) } : {}),
  };
  const secret = await resolvePin({ dir: process.cwd(), pinEnv: settings.pinEnv, pinFile: settings.pinFile });
  return { type: 'pkcs11', settings, secret };
}
