import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CaError, checkRevocation, fromPem, isCaError, type SourceResult } from '../../src/agent.ts';
import { clientAction as action } from '../client-action.ts';

/** `pki status` exit codes: a script must tell "revoked" from "could not ask". */
export const STATUS_EXIT = { good: 0, revoked: 1, badInput: 2, unchecked: 3 } as const;

const HELP = `
Exit status:
  0  good: OCSP or the CRL confirms it, and neither says revoked
  1  REVOKED (by OCSP or the CRL)
  2  usage or bad input: a file that is not a certificate, the wrong --issuer
  3  could not check: neither source answered (CA down, no URL, bad answer); the error names the URL
`;

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("check a certificate's revocation status the way relying parties do: OCSP (AIA) and CRL (CDP)")
    .requiredOption('--cert <file>', 'the certificate (PEM or DER)')
    .option('--issuer <file>', 'its issuer (PEM or DER; default: fetched from the AIA caIssuers URL)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', HELP)
    .action(
      action(async (o: { cert: string; issuer?: string; json?: boolean }) => {
        try {
          await status(o);
        } catch (e) {
          if (!isCaError(e)) throw e;
          process.stderr.write(`pki: ${e.detail}\n`);
          process.exitCode = e.kind === 'malformed' ? STATUS_EXIT.badInput : STATUS_EXIT.unchecked;
        }
      }),
    );
}

async function status(o: { cert: string; issuer?: string; json?: boolean }): Promise<void> {
  const certDer = await readCertificate(o.cert);
  const issuerDer = o.issuer ? await readCertificate(o.issuer) : undefined;
  const r = await checkRevocation({ certDer, issuerDer, names: { cert: o.cert, issuer: o.issuer ?? 'the issuer' } });
  if (o.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  } else {
    process.stdout.write(`certificate  ${r.serial}  ${r.subject}\n${line('OCSP', r.ocsp)}${line('CRL', r.crl)}`);
  }
  if (r.verdict === 'revoked') {
    process.stderr.write('pki: the certificate is REVOKED\n');
    process.exitCode = STATUS_EXIT.revoked;
  } else if (r.verdict === 'unchecked') {
    process.stderr.write(`pki: could not check: neither source confirms the certificate is good (${r.uncheckedBecause})\n`);
    process.exitCode = STATUS_EXIT.unchecked;
  }
}

function line(name: string, s: SourceResult): string {
  const when = s.status === 'revoked' ? ` at ${s.revokedAt?.toISOString()} (${s.reason})` : '';
  const validity = s.thisUpdate ? `; this update ${s.thisUpdate.toISOString()}, next update ${s.nextUpdate?.toISOString() ?? 'none'}` : '';
  return `${name.padEnd(5)}${(s.status.toUpperCase() + when).padEnd(10)}  ${s.url ?? '-'}\n      ${s.detail}${validity}\n`;
}

/** A certificate file as DER: PEM (the first CERTIFICATE block) or DER; the parse itself is checkRevocation's. */
async function readCertificate(path: string): Promise<Uint8Array> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EISDIR' ? 'it is a directory' : code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new CaError('malformed', `cannot read ${path}: ${why}`);
  }
  if (data.length === 0) throw new CaError('malformed', `${path} is empty, not a certificate`);
  if (!data.includes('-----BEGIN')) return new Uint8Array(data);
  const der = fromPem(data.toString('utf8'), 'CERTIFICATE')[0];
  if (!der) throw new CaError('malformed', `${path} holds no PEM certificate (no "BEGIN CERTIFICATE" block)`);
  return der;
}
