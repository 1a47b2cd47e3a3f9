import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CaError, checkRevocation, fromPem, type SourceResult } from '../../src/index.ts';
import { action, EXIT } from '../common.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("check a certificate's revocation status the way relying parties do: OCSP (AIA) and CRL (CDP); exit 1 when revoked")
    .requiredOption('--cert <file>', 'the certificate (PEM or DER)')
    .option('--issuer <file>', 'its issuer (PEM or DER; default: fetched from the AIA caIssuers URL)')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { cert: string; issuer?: string; json?: boolean }) => {
        const certDer = await readCertificate(o.cert);
        const issuerDer = o.issuer ? await readCertificate(o.issuer) : undefined;
        const r = await checkRevocation({ certDer, issuerDer });
        if (o.json) {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        } else {
          process.stdout.write(`certificate  ${r.serial}  ${r.subject}\n${line('OCSP', r.ocsp)}${line('CRL', r.crl)}`);
        }
        const revoked = r.ocsp.status === 'revoked' || r.crl.status === 'revoked';
        if (revoked) {
          process.stderr.write('pki: the certificate is REVOKED\n');
          process.exitCode = EXIT.failed;
        } else if (r.ocsp.status !== 'good' && r.crl.status !== 'good') {
          process.stderr.write('pki: neither OCSP nor the CRL could confirm the certificate is good\n');
          process.exitCode = EXIT.failed;
        }
      }),
    );
}

function line(name: string, s: SourceResult): string {
  const when = s.status === 'revoked' ? ` at ${s.revokedAt?.toISOString()} (${s.reason})` : '';
  const validity = s.thisUpdate ? `; this update ${s.thisUpdate.toISOString()}, next update ${s.nextUpdate?.toISOString() ?? 'none'}` : '';
  return `${name.padEnd(5)}${(s.status.toUpperCase() + when).padEnd(10)}  ${s.url ?? '-'}\n      ${s.detail}${validity}\n`;
}

async function readCertificate(path: string): Promise<Uint8Array> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    throw new CaError('malformed', `cannot read ${path}: ${(e as Error).message}`);
  }
  if (!data.includes('-----BEGIN')) return new Uint8Array(data);
  const der = fromPem(data.toString('utf8'), 'CERTIFICATE')[0];
  if (!der) throw new CaError('malformed', `${path} holds no PEM certificate`);
  return der;
}
