import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointText, ed25519Raw, openCheckpoint, parseVerifierKey, signedNote } from '../../src/tlog/note.ts';
import { CaError, silentLogger } from '../../src/index.ts';
import { toProblem } from '../../src/http/problem.ts';
import { pkiAsync as pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { useWorkloadTestEnv } from './support.ts';

/**
 * `pki enroll` / `pki renew` and the CA's transparency log (#17): the received certificate's
 * inclusion proof is verified against a checkpoint signed by the log key pinned at enrollment,
 * the checkpoint is kept in state.json, and the next renewal proves the log extends it; a log
 * that no longer extends the kept checkpoint fails the command (the new pair stays installed).
 */
const work = tempDir();
const env = useWorkloadTestEnv(work, { requireEab: false });
const out = join(work, 'svc');
const stateOf = () => JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')) as { log?: { vkey: string; checkpoint: string } };

describe('client transparency-log proofs', () => {
  it('ok/enroll verifies inclusion and pins the log key; renew proves consistency with the kept checkpoint', async () => {
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', 'log.internal', '--out', out, '--http-port', String(env.http01Port), '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const enrolled = JSON.parse(r.stdout) as { serial: string; log: { status: string; index: number; treeSize: number; previousSize: number | null } };
    expect(enrolled.log).toMatchObject({ status: 'verified', previousSize: null });
    expect(enrolled.log.index).toBeLessThan(enrolled.log.treeSize);
    const state = stateOf();
    expect(state.log?.vkey).toBe(env.ca.authority.log!.verifierKey);
    const kept = openCheckpoint(state.log!.checkpoint, parseVerifierKey(state.log!.vkey));

    const again = await pki(['renew', '--out', out, '--force', '--json']);
    expect(again.status, again.stderr).toBe(0);
    const renewed = JSON.parse(again.stdout) as { log: { status: string; previousSize: number; treeSize: number } };
    expect(renewed.log).toMatchObject({ status: 'verified', previousSize: kept.size });
    expect(renewed.log.treeSize).toBeGreaterThan(kept.size);
  }, 60_000);

  it('bad/a kept checkpoint the log does not extend (a larger tree, or another root) fails renew with ROLLBACK / FORK', async () => {
    const signer = await env.ca.keyStore.getLogSigner!({ label: 'log' });
    const origin = env.ca.authority.log!.origin;
    const forge = async (size: number) => {
      const text = checkpointText({ origin, size, root: Buffer.alloc(32, 7) });
      return signedNote(text, origin, ed25519Raw(signer.publicKeySpki), await signer.sign(Buffer.from(text)));
    };
    const state = stateOf();
    writeFileSync(join(out, 'state.json'), JSON.stringify({ ...state, log: { ...state.log, checkpoint: await forge(1_000_000) } }));
    const rollback = await pki(['renew', '--out', out, '--force']);
    expect(rollback.status).toBe(1);
    expect(rollback.stderr).toMatch(/installed, but the CA's transparency log does not account for it: ROLLBACK: the log has \d+ entries, this client saw 1000000/);

    writeFileSync(join(out, 'state.json'), JSON.stringify({ ...state, log: { ...state.log, checkpoint: await forge(3) } }));
    const fork = await pki(['renew', '--out', out, '--force']);
    expect(fork.status).toBe(1);
    expect(fork.stderr).toMatch(/FORK: the checkpoint of \d+ entries does not extend the one of 3 this client kept/);
  }, 60_000);

  it('bad/once the start check finds the database altered, ACME finalize answers 503 serverInternal saying why, signs nothing and leaves the order ready', async () => {
    const db = env.ca.store.db;
    const serial = (db.prepare("SELECT serial FROM certificates WHERE status = 'valid' AND profile NOT IN ('root', 'intermediate', 'ocsp-responder') LIMIT 1").get() as { serial: string }).serial;
    // Revoked behind the authority's back: the log has no revocation entry for it.
    db.prepare("UPDATE certificates SET status = 'revoked', revoked_at = 0, reason = 0 WHERE serial = ?").run(serial);
    const check = await env.ca.authority.log!.check();
    expect(check.ok).toBe(false);
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', 'refused.internal', '--out', join(work, 'refused'), '--http-port', String(env.http01Port)]);
    expect(r.status).not.toBe(0);
    // Nothing was signed for it, and the order was left ready (not invalid) for after the repair.
    expect(db.prepare("SELECT count(*) AS n FROM certificates WHERE sans LIKE '%refused.internal%'").get()).toEqual({ n: 0 });
    expect((db.prepare("SELECT status FROM acme_orders WHERE identifiers LIKE '%refused.internal%'").get() as { status: string }).status).toBe('ready');
    // What the ACME client was told (acme-client replays the request and reports badNonce instead).
    const p = toProblem(new CaError('unavailable', env.ca.authority.log!.refusal!), silentLogger);
    expect(p.toJSON()).toMatchObject({ type: 'urn:ietf:params:acme:error:serverInternal', status: 503 });
    expect(p.detail).toMatch(/does not match the signed transparency log \(certificate [0-9a-f]+: revoked in the inventory but the log has no revocation entry/);
  }, 60_000);
});
