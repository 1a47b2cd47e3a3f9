import { createHash } from 'node:crypto';

/**
 * The log entry of one audit event: canonical JSON text (fixed key order, the details exactly as
 * stored), so anyone holding the event can recompute its leaf and anyone holding the entry can read it.
 * Index i of the log is audit event id i+1. Issuance events carry the certificate's SHA-256, serial
 * (target), issuer key id, profile, actor and time; revocations the serial, reason, time and actor.
 */
export interface AuditEntryFields {
  id: number;
  /** Unix milliseconds. */
  at: number;
  action: string;
  actor: string;
  target: string | null;
  /** The details JSON as stored. */
  details: string;
}

/** C2SP tlog-tiles entry bundles length-prefix entries with 16 bits. */
export const MAX_ENTRY_BYTES = 0xffff;

export function auditEntry(e: AuditEntryFields): Buffer {
  return Buffer.from(auditEntryText(e), 'utf8');
}

/** The entry as text (what the leaf hashes, UTF-8). */
export function auditEntryText(e: AuditEntryFields): string {
  const head = `{"v":1,"id":${e.id},"at":${e.at},"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"target":${JSON.stringify(e.target)},"details":`;
  const whole = `${head}${e.details}}`;
  // Fast path: a UTF-16 length this small cannot exceed the limit in UTF-8 (3 bytes per unit at most).
  if (whole.length * 3 <= MAX_ENTRY_BYTES || Buffer.byteLength(whole) <= MAX_ENTRY_BYTES) return whole;
  // An oversized detail (a whole config) is logged by its hash, so every entry fits a bundle.
  return `${head}{"sha256":"${createHash('sha256').update(e.details).digest('hex')}"}}`;
}
