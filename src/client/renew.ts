import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CaError, isCaError } from '../domain/errors.ts';
import type { AcmeSession } from './acme-session.ts';
import { AnswerCache, type RevocationAnswer } from './answer-cache.ts';
import type { IssuedPair } from './enroll.ts';
import { readCurrentPair, type CertPair } from './files.ts';
import { acquireLock } from './lock.ts';
import { readState, writeState } from './state.ts';
import { verifyChain } from './trust.ts';

const execFileAsync = promisify(execFile);

export type RenewReason = 'forced' | 'missing' | 'invalid' | 'expiring' | 'ari-window' | 'revoked';

export interface RenewOptions {
  out: string;
  force?: boolean;
  /** Renew when less than this fraction of the lifetime remains (default 1/3). */
  renewBefore?: number;
  /** Random delay before renewing, so a fleet does not renew in lockstep (skipped with force). */
  jitterMs?: number;
  /** Command run (through /bin/sh) after a successful swap, e.g. `systemctl reload nginx`. */
  exec?: string;
  /** Revocation check of the current certificate (OCSP, CRL); absent → not checked; throws → could not check. */
  isRevoked?: (certPem: string, chainPem: string) => Promise<RevocationAnswer>;
  now?: () => Date;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export type RenewOutcome =
  | { action: 'not-due'; serial: string; notAfter: Date; renewAt: Date; warning?: string }
  | { action: 'renewed'; reason: RenewReason; via: 'est' | 'acme'; previousSerial: string | null; hook: { ran: boolean; ok: boolean; output?: string } } & IssuedPair;

/** Reasons under which the current certificate is still valid and not known revoked, so it can renew itself (EST simplereenroll). */
const RENEWS_ITSELF = new Set<RenewReason>(['forced', 'expiring', 'ari-window']);

/** Why the current pair must be replaced, or null when it is fine until `renewAt`. */
export async function renewalReason(
  pair: CertPair | null,
  rootPem: string,
  o: { force?: boolean; renewBefore: number; now: Date; ariWindow?: () => Promise<{ start: Date } | null>; isRevoked?: RenewOptions['isRevoked'] },
): Promise<{ reason: RenewReason | null; renewAt: Date; warning?: string }> {
  if (!pair) return { reason: 'missing', renewAt: o.now };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.certPem);
    verifyChain(pair.certPem, pair.chainPem, rootPem, o.now);
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) throw new Error('key mismatch');
  } catch {
    return { reason: 'invalid', renewAt: o.now };
  }
  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  const renewAt = new Date(notAfter - (notAfter - notBefore) * o.renewBefore);
  if (o.force) return { reason: 'forced', renewAt };
  if (o.now >= renewAt) return { reason: 'expiring', renewAt };
  // The server's view comes next; a server we cannot ask does not make a healthy pair due.
  // ARI and the revocation check are asked at once (a not-due run from a timer on every host
  // waits for the slower of the two, not their sum); ARI's answer still decides first.
  const asked = o.ariWindow?.().catch(() => null);
  // A revocation check that could not be made keeps the pair (the CA may just be down) but is
  // reported with the URLs that failed, never taken silently for "not revoked".
  let warning: string | undefined;
  const checked = o.isRevoked?.(pair.certPem, pair.chainPem).catch((e: Error) => {
    warning = isCaError(e) ? e.detail : `could not check revocation: ${e.message}`;
    return false;
  });
  const window = await asked;
  if (window && o.now >= window.start) return { reason: 'ari-window', renewAt: window.start };
  const answer = await checked;
  if (answer === true || (typeof answer === 'object' && answer.revoked)) return { reason: 'revoked', renewAt: o.now };
  return { reason: null, renewAt: window?.start && window.start < renewAt ? window.start : renewAt, ...(warning ? { warning } : {}) };
}

function serialOf(certPem: string): string | null {
  try {
    return new X509Certificate(certPem).serialNumber.toLowerCase();
  } catch {
    return null;
  }
}

async function overAcme(dir: string, state: Awaited<ReturnType<typeof readState>>, session: AcmeSession): Promise<IssuedPair> {
  const { obtainAndInstall } = await import('./enroll.ts');
  await session.probe();
  return obtainAndInstall(dir, state, session);
}

/** `pki renew`: replaces the pair in `out` when due, atomically, then runs the reload hook. */
export async function renew(o: RenewOptions): Promise<RenewOutcome> {
  const dir = resolve(o.out);
  const now = (o.now ?? (() => new Date()))();
  const state = await readState(dir);
  const release = await acquireLock(dir);
  try {
    const rootPem = await readFile(join(dir, state.rootFile), 'utf8');
    const accountKeyPem = await readFile(join(dir, state.accountKeyFile), 'utf8');
    // acme-client (with axios) is loaded only when the server is asked (#19: a not-due run with fresh answers never is).
    let opened: Promise<AcmeSession> | undefined;
    const session = () =>
      (opened ??= import('./acme-session.ts').then(({ AcmeSession }) => new AcmeSession({ server: state.server, rootPem, accountKeyPem, accountUrl: state.accountUrl })));
    const pair = await readCurrentPair(dir).catch(() => null);
    const currentSerial = pair ? serialOf(pair.certPem) : null;
    const cache = new AnswerCache(state.cache, currentSerial ?? '', now);
    const decision = await renewalReason(pair, rootPem, {
      force: o.force,
      renewBefore: o.renewBefore ?? 1 / 3,
      now,
      ariWindow: pair ? cache.ari(async () => (await session()).renewalWindow(pair.certPem)) : undefined,
      isRevoked: o.isRevoked && cache.revocation(o.isRevoked),
    });
    if (!decision.reason) {
      if (cache.changed) await writeState(dir, { ...state, cache: cache.state() });
      const notAfter = new Date(new X509Certificate(pair!.certPem).validTo);
      return { action: 'not-due', serial: currentSerial!, notAfter, renewAt: decision.renewAt, ...(decision.warning ? { warning: decision.warning } : {}) };
    }
    if (!o.force && o.jitterMs) await new Promise((r) => setTimeout(r, Math.floor(Math.random() * o.jitterMs!)));
    o.log?.('renew.due', { reason: decision.reason, serial: currentSerial });
    // A valid, unrevoked pair renews itself over EST (no challenge); anything else, or a refusal, goes through ACME.
    const viaEst = pair && RENEWS_ITSELF.has(decision.reason) ? await (await import('./est-renew.ts')).reenrollOverEst(dir, state, pair) : null;
    if (viaEst && 'refused' in viaEst) o.log?.('renew.est-refused', { reason: viaEst.refused });
    const issued = viaEst && !('refused' in viaEst) ? viaEst : await overAcme(dir, state, await session());
    let hook: { ran: boolean; ok: boolean; output?: string } = { ran: false, ok: true };
    if (o.exec) {
      try {
        const r = await execFileAsync('/bin/sh', ['-c', o.exec], { timeout: 300_000, env: { ...process.env, PKI_CERT_DIR: dir, PKI_SERIAL: issued.serial } });
        hook = { ran: true, ok: true, output: (r.stdout + r.stderr).trim() || undefined };
      } catch (e) {
        // The new pair is installed and valid; a failing reload is reported, not rolled back.
        hook = { ran: true, ok: false, output: (e as Error).message.split('\n')[0] };
      }
    }
    return { action: 'renewed', reason: decision.reason, via: issued === viaEst ? 'est' : 'acme', previousSerial: currentSerial, hook, ...issued };
  } finally {
    await release();
  }
}
