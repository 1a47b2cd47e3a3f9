import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CaError } from '../domain/errors.ts';
import type { Identifier } from '../domain/types.ts';
import type { KeyAlg } from '../domain/algorithms.ts';
import { AcmeSession } from './acme-session.ts';
import { exists } from './files.ts';
import { installProven, type IssuedPair } from './install.ts';
import { createCsr, generateKeyPem } from './keys.ts';
import { acquireLock } from './lock.ts';
import { dnsHook01, standaloneHttp01, standaloneTlsAlpn01, webrootHttp01, type ChallengeSolver } from './solvers.ts';
import { readState, writeState, type EnrollmentState } from './state.ts';
import { readTokenFile, tokenTkauth01 } from './token-solver.ts';
import { splitPem } from './trust.ts';

export type { IssuedPair };

export interface EnrollOptions {
  out: string;
  server: string;
  rootPem: string;
  identifiers: Identifier[];
  challenge: EnrollmentState['challenge'];
  httpPort?: number;
  tlsPort?: number;
  webroot?: string;
  dnsHook?: string;
  keyAlg: KeyAlg;
  profile?: string;
  eab?: { kid: string; hmacKey: string };
  /** tkauth-01: a workload identity token file (token-solver.ts). */
  tokenFile?: string;
}


export function solverFor(s: Pick<EnrollmentState, 'challenge' | 'httpPort' | 'tlsPort' | 'webroot' | 'dnsHook' | 'tokenFile'>): ChallengeSolver {
  switch (s.challenge) {
    case 'http-01':
      return s.webroot ? webrootHttp01(s.webroot) : standaloneHttp01(s.httpPort ?? 80);
    case 'tls-alpn-01':
      return standaloneTlsAlpn01(s.tlsPort ?? 443);
    case 'dns-01':
      if (!s.dnsHook) throw new CaError('malformed', 'dns-01 needs --dns-hook CMD (called as: CMD add|remove <name> <value>)');
      return dnsHook01(s.dnsHook);
    case 'tkauth-01':
      if (!s.tokenFile) throw new CaError('malformed', 'tkauth-01 needs --token-file FILE (a workload identity token)');
      return tokenTkauth01(s.tokenFile);
  }
}

/** `pki enroll`: account (created or reused), first certificate, and the state renew needs. */
export async function enroll(o: EnrollOptions): Promise<IssuedPair> {
  const dir = resolve(o.out);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const release = await acquireLock(dir);
  try {
    const accountKeyFile = 'account.key';
    const accountKeyPath = join(dir, accountKeyFile);
    if (!(await exists(accountKeyPath))) await writeFile(accountKeyPath, await generateKeyPem('ecdsa-p256'), { mode: 0o600, flag: 'wx' });
    const accountKeyPem = await readFile(accountKeyPath, 'utf8');
    await writeFile(join(dir, 'root.pem'), o.rootPem, { mode: 0o644 });
    const previous = await readState(dir).catch(() => null);
    const state: EnrollmentState = {
      version: 1,
      server: o.server,
      rootFile: 'root.pem',
      accountKeyFile,
      accountUrl: previous?.server === o.server ? previous.accountUrl : undefined,
      identifiers: o.identifiers,
      challenge: o.challenge,
      httpPort: o.httpPort,
      tlsPort: o.tlsPort,
      webroot: o.webroot ? resolve(o.webroot) : undefined,
      dnsHook: o.dnsHook,
      keyAlg: o.keyAlg,
      profile: o.profile,
      tokenFile: o.tokenFile ? resolve(o.tokenFile) : undefined,
    };
    // A token file that cannot serve is named before an account is made.
    if (state.tokenFile) await readTokenFile(state.tokenFile);
    const session = new AcmeSession({ server: o.server, rootPem: o.rootPem, accountKeyPem, accountUrl: state.accountUrl, eab: o.eab });
    state.accountUrl = await session.ensureAccount();
    const pair = await obtainAndInstall(dir, state, session);
    await writeState(dir, state);
    return pair;
  } finally {
    await release();
  }
}

/** New key → CSR → ACME → verify against the pinned root → atomic install. Shared by enroll and renew. */
export async function obtainAndInstall(dir: string, state: EnrollmentState, session: AcmeSession): Promise<IssuedPair> {
  const rootPem = await readFile(join(dir, state.rootFile), 'utf8');
  const keyPem = await generateKeyPem(state.keyAlg);
  const csrPem = await createCsr(keyPem, state.keyAlg, state.identifiers);
  const chain = await session.obtainCertificate({ identifiers: state.identifiers, csrPem, solver: solverFor(state), profile: state.profile });
  const [certPem, ...rest] = splitPem(chain);
  if (!certPem) throw new CaError('refused', 'the server returned no certificate');
  return installProven(dir, state, rootPem, { keyPem, certPem, chainPem: rest.join('') });
}
