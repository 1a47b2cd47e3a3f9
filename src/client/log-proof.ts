import { createHash, X509Certificate } from 'node:crypto';
import { CaError } from '../domain/errors.ts';
import { leafHash, verifyConsistency, verifyInclusion } from '../tlog/merkle.ts';
import { openCheckpoint, parseVerifierKey } from '../tlog/note.ts';
import { normalizeSerial } from '../x509/serial.ts';
import { writeState, type EnrollmentState } from './state.ts';

/** What the client learned from the CA's transparency log about the certificate it received. */
export type LogProofOutcome =
  | { status: 'verified'; index: number; treeSize: number; previousSize: number | null }
  /** The log could not be read (unreachable, no log, not yet signed): reported, not a failure. */
  | { status: 'unchecked'; detail: string };

const RETRIES = 6;

interface InclusionAnswer {
  index: number;
  treeSize: number;
  entry: string;
  proof: string[];
  checkpoint: string;
}

/** The CA's plain-HTTP base: its OCSP URL (AIA) is `<base>/ocsp`. */
function logBaseOf(cert: X509Certificate): string | null {
  const m = /OCSP - URI:(http:\/\/\S+?)\/ocsp\b/.exec(cert.infoAccess ?? '');
  return m ? m[1]! : null;
}

async function getJson(url: string): Promise<{ status: number; body: unknown; retryAfter: number | null }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') ? Number(res.headers.get('retry-after')) : null };
}

/**
 * After `pki enroll` / `pki renew` installed a certificate (issue #17): fetch its inclusion proof
 * from the CA's log, verify it against a checkpoint signed by the pinned log key, prove that
 * checkpoint extends the one kept from the previous run, and keep the new one in the state.
 * The log key is pinned at the first enrollment (fetched from the same CA, trust on first use).
 * A proof that does not verify, or a log that is not an extension of the kept one, throws (the
 * command fails: the CA showed this client something it did not log, or rewrote its log); a log
 * that cannot be reached is `unchecked` and the kept checkpoint stays.
 */
export async function checkLogInclusion(dir: string, state: EnrollmentState, certPem: string): Promise<LogProofOutcome> {
  const cert = new X509Certificate(certPem);
  const base = logBaseOf(cert);
  if (!base) return { status: 'unchecked', detail: 'the certificate names no OCSP URL to find the CA\'s log by' };
  const serial = normalizeSerial(cert.serialNumber);
  let proof = null as InclusionAnswer | null;
  let vkey = state.log?.vkey;
  try {
    if (!vkey) {
      const res = await fetch(`${base}/log/vkey`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) return { status: 'unchecked', detail: `${base}/log/vkey: HTTP ${res.status}` };
      vkey = (await res.text()).trim();
    }
    for (let attempt = 0; attempt < RETRIES && !proof; attempt++) {
      const r = await getJson(`${base}/log/proof/inclusion?serial=${serial}`);
      if (r.status === 200) proof = r.body as InclusionAnswer;
      else if (r.status === 404 && r.retryAfter !== null) await new Promise((res) => setTimeout(res, Math.min(r.retryAfter!, 2) * 1000));
      else return { status: 'unchecked', detail: `${base}/log/proof/inclusion: HTTP ${r.status}` };
    }
  } catch (e) {
    return { status: 'unchecked', detail: `cannot reach the CA's log at ${base}: ${(e as Error).message}` };
  }
  if (!proof) return { status: 'unchecked', detail: `certificate ${serial} was not in a signed checkpoint after ${RETRIES} tries` };

  const fail = (why: string) => new CaError('refused', `the certificate ${serial} is installed, but the CA's transparency log does not account for it: ${why}`);
  const key = parseVerifierKey(vkey);
  let cp;
  try {
    cp = openCheckpoint(proof.checkpoint, key);
  } catch (e) {
    throw fail(`checkpoint: ${(e as Error).message}`);
  }
  const entry = Buffer.from(proof.entry ?? '', 'base64');
  let logged: { target?: string; details?: { sha256?: string } } = {};
  try {
    logged = JSON.parse(entry.toString('utf8')) as typeof logged;
  } catch {
    throw fail('the log entry is not JSON');
  }
  if (logged.target !== serial || logged.details?.sha256 !== createHash('sha256').update(cert.raw).digest('hex')) throw fail('the log entry names another certificate');
  if (cp.size !== proof.treeSize || !verifyInclusion(leafHash(entry), proof.index, cp.size, proof.proof.map((h) => Buffer.from(h, 'base64')), cp.root)) {
    throw fail(`the inclusion proof at ${proof.index} does not lead to the signed root of ${cp.size} entries`);
  }
  let previousSize: number | null = null;
  if (state.log?.checkpoint) {
    const before = openCheckpoint(state.log.checkpoint, key);
    previousSize = before.size;
    if (cp.size < before.size) throw fail(`ROLLBACK: the log has ${cp.size} entries, this client saw ${before.size}`);
    const r = await getJson(`${base}/log/proof/consistency?from=${before.size}&to=${cp.size}`).catch(() => null);
    if (!r || r.status !== 200) return { status: 'unchecked', detail: `consistency proof from ${before.size}: ${r ? `HTTP ${r.status}` : 'unreachable'}` };
    const hashes = ((r.body as { proof: string[] }).proof ?? []).map((h) => Buffer.from(h, 'base64'));
    if (!verifyConsistency(before.size, cp.size, hashes, before.root, cp.root)) throw fail(`FORK: the checkpoint of ${cp.size} entries does not extend the one of ${before.size} this client kept`);
  }
  state.log = { vkey, checkpoint: proof.checkpoint };
  await writeState(dir, state);
  return { status: 'verified', index: proof.index, treeSize: cp.size, previousSize };
}
