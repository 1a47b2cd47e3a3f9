import { readFile } from 'node:fs/promises';
import { CaError } from '../domain/errors.ts';
import { writeFileDurably } from '../domain/durable-file.ts';
import { consistencyProof, type Hash } from '../tlog/merkle.ts';
import { openCheckpoint, parseVerifierKey } from '../tlog/note.ts';
import { witnessStep } from '../tlog/witness.ts';
import { openInventory } from './inventory.ts';
import { readVerifierKey } from './log-audit.ts';

/** What a witness keeps outside the instance: the pinned verifier key and the last checkpoint it accepted. */
interface WitnessState {
  vkey: string;
  checkpoint: string;
}

/** Where the log is read from: a plain-HTTP base URL (another machine) or a local instance directory. */
export type WitnessSource = { url: string } | { dir: string };

export interface WitnessResult {
  previousSize: number | null;
  size: number;
  /** True when this run pinned the key (no state and no --vkey: trust on first use). */
  pinned: boolean;
}

async function fetchText(url: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    throw new CaError('unavailable', `cannot reach ${url}: ${(e as Error).message}`);
  }
  const body = await res.text();
  if (!res.ok) throw new CaError('unavailable', `${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return body;
}

/** The log's current checkpoint and a consistency proof from `fromSize` to it. */
async function readLog(src: WitnessSource, fromSize: number | null, vkeyGiven?: string): Promise<{ note: string; proof: (size: number) => Promise<Hash[]>; vkey: () => Promise<string> }> {
  if ('url' in src) {
    const base = src.url.replace(/\/+$/, '').replace(/\/log$/, '');
    return {
      note: await fetchText(`${base}/log/checkpoint`),
      proof: async (to) => {
        const json = JSON.parse(await fetchText(`${base}/log/proof/consistency?from=${fromSize}&to=${to}`)) as { proof: string[] };
        return json.proof.map((h) => Buffer.from(h, 'base64'));
      },
      vkey: async () => vkeyGiven ?? (await fetchText(`${base}/log/vkey`)).trim(),
    };
  }
  const inv = await openInventory(src.dir);
  try {
    const log = inv.store.audit.log;
    const note = log.latestCheckpoint()?.note;
    if (!note) throw new CaError('conflict', `${src.dir}: the database holds no signed checkpoint`);
    const size = Number(note.split('\n')[1]);
    const proof = fromSize !== null && fromSize <= size ? consistencyProof(log.reader, fromSize, size) : [];
    const vkey = await readVerifierKey(inv.dir, vkeyGiven);
    return { note, proof: async () => proof, vkey: async () => vkey };
  } finally {
    inv.close();
  }
}

/**
 * `pki audit witness`: checks the log's current checkpoint against the last one this witness kept
 * (rollback and fork are errors, and the state is then left as it was) and keeps the new one.
 */
export async function witness(o: { state: string; source: WitnessSource; vkey?: string }): Promise<WitnessResult> {
  const raw = await readFile(o.state, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new CaError('config', `cannot read witness state ${o.state}: ${e.message}`);
  });
  let state: WitnessState | null = null;
  if (raw !== null) {
    try {
      state = JSON.parse(raw) as WitnessState;
      parseVerifierKey(state.vkey);
      openCheckpoint(state.checkpoint, parseVerifierKey(state.vkey));
    } catch (e) {
      throw new CaError('config', `witness state ${o.state} is damaged (${(e as Error).message}): restore it; never delete it to get past a failure`);
    }
  }
  if (state && o.vkey && o.vkey.trim() !== state.vkey) throw new CaError('conflict', `--vkey is not the key pinned in ${o.state} (${state.vkey})`);
  const keptSize = state ? openCheckpoint(state.checkpoint, parseVerifierKey(state.vkey)).size : null;
  const log = await readLog(o.source, keptSize, o.vkey);
  const vkey = state?.vkey ?? (await log.vkey());
  const key = parseVerifierKey(vkey);
  const currentSize = openCheckpoint(log.note, key).size;
  const proof = state && currentSize >= keptSize! ? await log.proof(currentSize) : null;
  const r = witnessStep(key, state?.checkpoint ?? null, log.note, proof);
  await writeFileDurably(o.state, JSON.stringify({ vkey, checkpoint: log.note } satisfies WitnessState, null, 2) + '\n', { mode: 0o644 });
  return { previousSize: r.previous?.size ?? null, size: r.current.size, pinned: !state && !o.vkey };
}
