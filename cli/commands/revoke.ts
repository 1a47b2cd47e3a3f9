import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CaError, isCaError, normalizeSerial, openRevoker, REVOCATION_REASONS, serialOfCertificate, type RevocationReason } from '../../src/cli-revoke.ts';
import { action, EXIT } from '../common.ts';

const REASONS = Object.keys(REVOCATION_REASONS) as RevocationReason[];

export function registerRevoke(program: Command): void {
  program
    .command('revoke')
    .description('revoke a certificate: records time and reason; a running `pki serve` re-signs its OCSP response and rebuilds the CRL within seconds')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--serial <hex>', 'serial number of the certificate (hex, colons allowed)')
    .option('--cert <file>', 'the certificate itself (PEM or DER)')
    .option('--reason <reason>', `RFC 5280 reason: ${REASONS.join(' | ')}`, 'unspecified')
    .option('--passphrase-file <file>', 'accepted for older scripts and ignored: recording a revocation needs no key')
    .action(
      action(async (o: { dir: string; serial?: string; cert?: string; reason: string; passphraseFile?: string }) => {
        if (!!o.serial === !!o.cert) throw new CaError('malformed', 'give exactly one of --serial HEX or --cert FILE');
        if (!(REASONS as string[]).includes(o.reason)) throw new CaError('malformed', `unknown reason "${o.reason}": use one of ${REASONS.join(', ')}`);
        const serial = o.serial ? serialFromText(o.serial) : await serialFromFile(o.cert!);
        // No key store: the revocation is a durable commit; the running server signs what follows.
        const ca = await openRevoker(o.dir);
        try {
          const r = await ca.revoke(serial, { reason: o.reason as RevocationReason, actor: 'cli' });
          process.stdout.write(`revoked ${r.serial} at ${r.revokedAt?.toISOString()} (reason ${o.reason})\n`);
        } catch (e) {
          if (isCaError(e, 'alreadyRevoked')) {
            process.stderr.write(`pki: already revoked: ${e.detail}\n`);
            process.exitCode = EXIT.failed;
            return;
          }
          throw e;
        } finally {
          ca.close();
        }
      }),
    );
}

function serialFromText(text: string): string {
  try {
    return normalizeSerial(text);
  } catch (e) {
    throw new CaError('malformed', (e as Error).message);
  }
}

async function serialFromFile(path: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    throw new CaError('malformed', `cannot read certificate ${path}: ${(e as Error).message}`);
  }
  try {
    return serialOfCertificate(data);
  } catch (e) {
    throw new CaError('malformed', `${path} is not a certificate: ${(e as Error).message}`);
  }
}
