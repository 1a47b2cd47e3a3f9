import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { CaError } from '../domain/errors.ts';
import { installPair } from './files.ts';
import { checkLogInclusion, type LogProofOutcome } from './log-proof.ts';
import type { EnrollmentState } from './state.ts';
import { verifyChain } from './trust.ts';

export interface IssuedPair {
  serial: string;
  notAfter: Date;
  names: string[];
  versionId: string;
  /** The certificate's transparency-log proof (#17). */
  log?: LogProofOutcome;
}

/**
 * A certificate just received (over ACME or EST) installed with its key: it must chain to the
 * pinned root and be for the key we generated, or nothing is written; then the atomic swap.
 */
export async function installIssued(dir: string, rootPem: string, p: { keyPem: string; certPem: string; chainPem: string }): Promise<IssuedPair> {
  verifyChain(p.certPem, p.chainPem, rootPem);
  const leaf = new X509Certificate(p.certPem);
  if (!leaf.checkPrivateKey(createPrivateKey(p.keyPem))) throw new CaError('refused', 'the issued certificate is not for the key we sent');
  const serial = leaf.serialNumber.toLowerCase();
  const versionId = `${new Date().toISOString().replace(/[-:.]/g, '')}-${serial.slice(0, 16)}`;
  await installPair(dir, p, versionId);
  await chmod(dir, 0o755);
  return { serial, notAfter: new Date(leaf.validTo), names: (leaf.subjectAltName ?? '').split(', ').filter(Boolean), versionId };
}

/**
 * installIssued, then the proof that the CA's signed log accounts for the certificate
 * (./log-proof.ts): throws when it does not (the new pair stays installed: it is valid, but the
 * operator must know the log disagrees); an unreachable log is reported as unchecked.
 */
export async function installProven(dir: string, state: EnrollmentState, rootPem: string, p: { keyPem: string; certPem: string; chainPem: string }): Promise<IssuedPair> {
  const pair = await installIssued(dir, rootPem, p);
  return { ...pair, log: await checkLogInclusion(dir, state, p.certPem) };
}
