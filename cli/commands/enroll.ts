import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { bootstrapRoot, CaError, enroll, parseIdentifier, parseKeyAlg, type Identifier } from '../../src/agent.ts';
import { clientAction as action } from '../client-action.ts';

const collect = (v: string, acc: string[]) => [...acc, v];
const CHALLENGES = ['http-01', 'tls-alpn-01', 'dns-01', 'tkauth-01'] as const;

export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description('get this machine its identity: key + certificate + chain over ACME (run once; pki renew keeps it fresh)')
    .requiredOption('--server <url>', 'ACME directory URL, e.g. https://ca.internal:9443/acme/directory')
    .option('--root <file>', 'root certificate to trust (PEM)')
    .option('--root-fingerprint <sha256>', "trust the server's root if its SHA-256 fingerprint is this (printed by pki init)")
    .option('--name <dns>', 'DNS name (repeatable)', collect, [])
    .option('--ip <address>', 'IP address (repeatable)', collect, [])
    .option('--uri <uri>', 'URI name such as spiffe://corp/svc (repeatable; needs an EAB scope or a --token-file that allows it)', collect, [])
    .requiredOption('--out <dir>', 'directory for key.pem, cert.pem, chain.pem, fullchain.pem and the renewal state')
    .option('--eab-kid <id>', 'External Account Binding key id')
    .option('--eab-hmac-key-file <file>', 'file holding the EAB HMAC key (base64url)')
    .option('--challenge <type>', CHALLENGES.join(' | '), 'http-01')
    .option('--http-port <port>', 'port of the built-in http-01 responder', '80')
    .option('--webroot <dir>', 'answer http-01 by writing into this document root instead')
    .option('--tls-port <port>', 'port of the built-in tls-alpn-01 responder', '443')
    .option('--dns-hook <cmd>', 'dns-01: command run as `CMD add|remove <name> <value>`')
    .option('--token-file <file>', 'answer tkauth-01 with this workload identity token (e.g. a projected service-account token; read again at each renewal)')
    .option('--key-alg <alg>', 'ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-3072 | rsa-4096', 'ecdsa-p256')
    .option('--profile <name>', 'certificate profile offered by the server (default, server, client)')
    .option('--json', 'one JSON line instead of text')
    .action(
      action(async (o: EnrollFlags) => {
        if (o.tokenFile) o.challenge = tokenChallenge(o.challenge);
        else if (o.challenge === 'tkauth-01') throw new CaError('malformed', '--challenge tkauth-01 needs --token-file FILE');
        if (!(CHALLENGES as readonly string[]).includes(o.challenge)) throw new CaError('malformed', `unknown --challenge "${o.challenge}": use ${CHALLENGES.join(', ')}`);
        const identifiers: Identifier[] = [
          ...o.name.map((v) => parseIdentifier(`dns:${v}`)),
          ...o.ip.map((v) => parseIdentifier(`ip:${v}`)),
          ...o.uri.map((v) => parseIdentifier(`uri:${v}`)),
        ];
        if (identifiers.length === 0) throw new CaError('malformed', 'name at least one identity: --name, --ip or --uri');
        if (!o.root && !o.rootFingerprint) throw new CaError('malformed', 'say which root to trust: --root FILE or --root-fingerprint SHA256');
        if (Boolean(o.eabKid) !== Boolean(o.eabHmacKeyFile)) throw new CaError('malformed', '--eab-kid and --eab-hmac-key-file go together');
        const rootPem = o.root ? await readText(o.root, 'root certificate') : await bootstrapRoot(o.server, o.rootFingerprint!);
        const eab = o.eabKid ? { kid: o.eabKid, hmacKey: (await readText(o.eabHmacKeyFile!, 'EAB HMAC key')).trim() } : undefined;
        const issued = await enroll({
          out: o.out,
          server: o.server,
          rootPem,
          identifiers,
          challenge: o.challenge as (typeof CHALLENGES)[number],
          httpPort: port(o.httpPort, '--http-port'),
          tlsPort: port(o.tlsPort, '--tls-port'),
          webroot: o.webroot,
          dnsHook: o.dnsHook,
          keyAlg: parseKeyAlg(o.keyAlg),
          profile: o.profile,
          eab,
          tokenFile: o.tokenFile,
        });
        process.stdout.write(
          o.json
            ? JSON.stringify({ action: 'enrolled', ...issued }) + '\n'
            : `enrolled: serial ${issued.serial} for ${issued.names.join(', ')}, valid until ${issued.notAfter.toISOString()}\n` +
                `  files: ${o.out}/{key,cert,chain,fullchain}.pem\n  keep it fresh: pki renew --out ${o.out} --exec '<reload command>' (cron or systemd timer)\n`,
        );
        reportLogProof(issued.log);
      }),
    );
}

/** The transparency-log outcome (#17) in words: verified on stdout, unchecked as a warning. */
export function reportLogProof(log: { status: 'verified'; index: number; treeSize: number; previousSize: number | null } | { status: 'unchecked'; detail: string } | undefined): void {
  if (log?.status === 'unchecked') process.stderr.write(`pki: warning: transparency log unchecked: ${log.detail}\n`);
  else if (log && process.stdout.isTTY) process.stdout.write(`  transparency log: entry ${log.index} in the signed checkpoint of ${log.treeSize}${log.previousSize !== null ? `, consistent with ${log.previousSize}` : ''}\n`);
}

interface EnrollFlags {
  server: string;
  root?: string;
  rootFingerprint?: string;
  name: string[];
  ip: string[];
  uri: string[];
  out: string;
  eabKid?: string;
  eabHmacKeyFile?: string;
  challenge: string;
  httpPort: string;
  webroot?: string;
  tlsPort: string;
  dnsHook?: string;
  keyAlg: string;
  profile?: string;
  tokenFile?: string;
  json?: boolean;
}

/** --token-file means tkauth-01; another --challenge with it is a contradiction (http-01 is only the default). */
function tokenChallenge(challenge: string): string {
  if (challenge !== 'http-01' && challenge !== 'tkauth-01') throw new CaError('malformed', `--token-file answers tkauth-01, not --challenge ${challenge}`);
  return 'tkauth-01';
}

function port(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CaError('malformed', `invalid ${flag} "${text}"`);
  return n;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new CaError('malformed', `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}
