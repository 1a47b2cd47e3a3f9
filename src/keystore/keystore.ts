import { CaError } from '../domain/errors.ts';
import type { StoredKeyAlg } from '../domain/algorithms.ts';
import type { LogSigner, Signer } from '../domain/signer.ts';

export type { LogSigner, Signer };

export interface KeyInfo {
  label: string;
  alg: StoredKeyAlg;
  store: string;
  publicKeySpki: Uint8Array;
}

/** Something that happened to a key store while it was in use (for logs, metrics and the audit trail). */
export interface KeyStoreEvent {
  /** `session-lost`: the token's sessions went away under an operation (token removed, module restarted). */
  kind: 'session-lost';
  /** The operation that noticed, e.g. `signing with "intermediate"`. */
  operation: string;
  /** Whether reconnecting and retrying once succeeded. */
  recovered: boolean;
  detail: string;
}

/** Pluggable custody of CA keys (after smallstep's KeyManager); each call takes one request object. */
export interface KeyStore {
  readonly type: string;
  /** Optional capability: stores that can lose their connection report it here. */
  onEvent?(listener: (e: KeyStoreEvent) => void): void;
  createKey(req: { label: string; alg: StoredKeyAlg }): Promise<KeyInfo>;
  getPublicKey(req: { label: string }): Promise<KeyInfo>;
  getSigner(req: { label: string }): Promise<Signer>;
  /** The transparency log's Ed25519 key (#17); a store that cannot hold one leaves this out. */
  getLogSigner?(req: { label: string }): Promise<LogSigner>;
  listKeys(): Promise<KeyInfo[]>;
  close(): Promise<void>;
}

/** Everything a backend may need to open; backends read their own fields from `settings`. */
export interface KeyStoreOpenOptions {
  /** Instance directory; relative paths in settings resolve against it. */
  baseDir: string;
  settings: Record<string, unknown>;
  /** Secret that unlocks the store (file passphrase, PKCS#11 PIN). Never logged. */
  secret: string;
}

export type KeyStoreOpener = (opts: KeyStoreOpenOptions) => Promise<KeyStore>;

const registry = new Map<string, KeyStoreOpener>();

export function registerKeyStore(type: string, open: KeyStoreOpener): void {
  registry.set(type, open);
}

export async function openKeyStore(type: string, opts: KeyStoreOpenOptions): Promise<KeyStore> {
  const open = registry.get(type);
  if (!open) throw new CaError('config', `unknown key store type "${type}" (known: ${[...registry.keys()].join(', ')})`);
  return open(opts);
}

/** Labels become file names and token labels: keep them to a safe alphabet, no path segments. */
export function validateLabel(label: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(label) || label.includes('..')) {
    throw new CaError('malformed', `invalid key label "${label}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return label;
}
