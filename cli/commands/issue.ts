import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CaError, openInstance, parseDuration, reserveFile, type ReservedFile } from '../../src/index.ts';
import { action } from '../common.ts';

export function registerIssue(program: Command): void {
  program
    .command('issue')
    .description('issue a certificate for a CSR directly (local administrator issuance)')
    .requiredOption('--dir <dir>', 'instance directory')
    .requiredOption('--csr <file>', 'PKCS#10 request, PEM or DER')
    .option('--out <file>', 'write the certificate here (default: stdout)')
    .option('--chain', 'also append the intermediate certificate')
    .option('--lifetime <duration>', 'certificate lifetime, e.g. 24h or 7d')
    .option('--profile <name>', 'certificate profile (default, server, client)', 'default')
    .option('--passphrase-file <file>', 'key store passphrase file')
    .action(
      action(async (o: { dir: string; csr: string; out?: string; chain?: boolean; lifetime?: string; profile: string; passphraseFile?: string }) => {
        let csr: Buffer;
        try {
          csr = await readFile(o.csr);
        } catch (e) {
          throw new CaError('malformed', `cannot read CSR ${o.csr}: ${(e as Error).message}`);
        }
        const lifetimeMs = o.lifetime ? parseDuration(o.lifetime) : undefined;
        // Before anything is signed: a certificate recorded but never written out is one nobody holds.
        const out = o.out ? await reserveOutput(o.out) : null;
        let ca;
        try {
          ca = await openInstance({ dir: o.dir, passphraseFile: o.passphraseFile });
        } catch (e) {
          await out?.abandon();
          throw e;
        }
        try {
          const text = csr.includes('-----BEGIN') ? csr.toString('utf8') : new Uint8Array(csr);
          const cert = await ca.authority.issue(text, { profile: o.profile, lifetimeMs, actor: 'cli' });
          const body = o.chain ? cert.chainPem : cert.pem;
          if (out) {
            await out.commit(body).catch((e: Error) => {
              throw new CaError('internal', `issued serial ${cert.serial} but cannot write ${o.out}: ${e.message} (the certificate is recorded: pki certs)`);
            });
            process.stderr.write(`issued serial ${cert.serial} for ${cert.sans.join(', ')}, valid until ${cert.notAfter.toISOString()} → ${o.out}\n`);
          } else {
            process.stdout.write(body);
          }
        } finally {
          await out?.abandon();
          await ca.close();
        }
      }),
    );
}

/** The --out file's temporary twin, created now: a missing or unwritable directory is refused before signing. */
async function reserveOutput(path: string): Promise<ReservedFile> {
  try {
    return await reserveFile(path, { mode: 0o644 });
  } catch (e) {
    throw new CaError('malformed', `cannot write --out ${path}: ${(e as Error).message}`);
  }
}
