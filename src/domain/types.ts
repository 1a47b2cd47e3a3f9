/** Lifecycle of a certificate row. `pending` = serial reserved, signature not yet stored. */
export type CertStatus = 'pending' | 'valid' | 'revoked' | 'failed';

/** RFC 5280 §5.3.1 CRLReason codes (7 is unused, 8 removeFromCRL is for delta CRLs only). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** A subject alternative name, typed: `dns:a.example`, `ip:10.0.0.1`, `uri:spiffe://corp/x`. */
export interface Identifier {
  type: 'dns' | 'ip' | 'uri';
  value: string;
}

export function formatIdentifier(id: Identifier): string {
  return `${id.type}:${id.value}`;
}

export interface CertRecord {
  serial: string; // lowercase hex, no leading zero octet
  issuer: string; // key id (hex SKI) of the issuing CA
  subject: string;
  sans: string[]; // formatted identifiers
  profile: string;
  notBefore: Date;
  notAfter: Date;
  status: CertStatus;
  revokedAt: Date | null;
  reason: number | null;
  der: Uint8Array | null;
  createdAt: Date;
}

export function reasonNameOf(code: number | null): RevocationReason | 'none' {
  const entry = Object.entries(REVOCATION_REASONS).find(([, v]) => v === code);
  return entry ? (entry[0] as RevocationReason) : 'none';
}
