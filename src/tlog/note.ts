import { createHash, createPublicKey, verify } from 'node:crypto';
import { CaError } from '../domain/errors.ts';
import type { Hash } from './merkle.ts';

/**
 * C2SP signed-note (https://c2sp.org/signed-note) and tlog-checkpoint (https://c2sp.org/tlog-checkpoint),
 * as Go's golang.org/x/mod/sumdb/note reads them: the text `<origin>\n<size>\n<base64 root>\n`, a
 * blank line, then `— <key name> <base64(key hash ‖ signature)>\n` per signature. Ed25519 only (type 0x01).
 */
export interface Checkpoint {
  origin: string;
  size: number;
  root: Hash;
}

const ED25519 = 0x01;
/** SubjectPublicKeyInfo of an Ed25519 key is this prefix and the 32 raw bytes (RFC 8410 §4). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n`;
}

/** A key name (and so an origin): non-empty, no whitespace, no '+' (signed-note §Verifier keys). */
export function checkKeyName(name: string): string {
  if (!/^[^\s+]+$/u.test(name)) throw new CaError('malformed', `log origin / key name "${name}" must be non-empty without spaces or '+'`);
  return name;
}

export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  const [origin, size, root] = lines;
  if (lines.length < 4 || !origin || !size || !root || !/^(0|[1-9]\d{0,15})$/.test(size)) throw new CaError('malformed', 'not a checkpoint: expected origin, size and root hash lines');
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32 || hash.toString('base64') !== root) throw new CaError('malformed', 'checkpoint root is not a base64 SHA-256 hash');
  return { origin, size: Number(size), root: hash };
}

export function ed25519Raw(spki: Uint8Array): Buffer {
  const b = Buffer.from(spki);
  if (b.length !== 44 || !b.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) throw new CaError('config', 'the log key is not an Ed25519 key');
  return b.subarray(12);
}

/** The 4-byte key id: SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]. */
export function keyHash(name: string, raw: Uint8Array): Buffer {
  return createHash('sha256').update(`${name}\n`).update(Buffer.from([ED25519])).update(raw).digest().subarray(0, 4);
}

/** The verifier key: `<name>+<hex key hash>+<base64(type ‖ public key)>`. */
export function verifierKey(name: string, raw: Uint8Array): string {
  return `${checkKeyName(name)}+${keyHash(name, raw).toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), raw]).toString('base64')}`;
}

export interface VerifierKey {
  name: string;
  hash: Buffer;
  raw: Buffer;
}

export function parseVerifierKey(vkey: string): VerifierKey {
  const m = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey.trim());
  const key = m ? Buffer.from(m[3]!, 'base64') : Buffer.alloc(0);
  if (!m || key.length !== 33 || key[0] !== ED25519) throw new CaError('malformed', `not an Ed25519 note verifier key: "${vkey.trim().slice(0, 80)}"`);
  const raw = key.subarray(1);
  if (!keyHash(m[1]!, raw).equals(Buffer.from(m[2]!, 'hex'))) throw new CaError('malformed', 'verifier key hash does not match its name and key');
  return { name: m[1]!, hash: Buffer.from(m[2]!, 'hex'), raw };
}

/** The note: text, blank line, one signature line. */
export function signedNote(text: string, name: string, raw: Uint8Array, signature: Uint8Array): string {
  return `${text}\n— ${name} ${Buffer.concat([keyHash(name, raw), signature]).toString('base64')}\n`;
}

/**
 * Opens a signed checkpoint with `key`: the text must carry a valid signature by that key, and
 * its origin must be the key's name. Throws a CaError saying which of these failed.
 */
export function openCheckpoint(note: string, key: VerifierKey): Checkpoint & { text: string } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new CaError('malformed', 'not a signed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  const pub = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, key.raw]), format: 'der', type: 'spki' });
  let signed = false;
  for (const line of lines) {
    const m = /^— (\S+) ([A-Za-z0-9+/]+=*)$/.exec(line);
    if (!m) throw new CaError('malformed', `not a signed note: bad signature line "${line.slice(0, 80)}"`);
    const sig = Buffer.from(m[2]!, 'base64');
    if (m[1] !== key.name || sig.length !== 68 || !sig.subarray(0, 4).equals(key.hash)) continue;
    if (!verify(null, Buffer.from(text, 'utf8'), pub, sig.subarray(4))) throw new CaError('conflict', `checkpoint signature by ${key.name} does not verify: forged or altered`);
    signed = true;
  }
  if (!signed) throw new CaError('conflict', `checkpoint carries no signature by the log key ${key.name}+${key.hash.toString('hex')}`);
  const c = parseCheckpointText(text);
  if (c.origin !== key.name) throw new CaError('conflict', `checkpoint origin "${c.origin}" is not the log key's name "${key.name}"`);
  return { ...c, text };
}
