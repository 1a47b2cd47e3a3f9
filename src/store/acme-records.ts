import type { Identifier } from '../domain/types.ts';

/** Rows of the ACME tables as the rest of the code sees them (times as Date). */
export type AccountStatus = 'valid' | 'deactivated' | 'revoked';
export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AuthzStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';

/** An RFC 7807 problem as stored on an order or challenge. */
export interface StoredProblem {
  type: string;
  detail: string;
  status: number;
}

export interface AccountRecord {
  id: string;
  thumbprint: string;
  jwk: Record<string, unknown>;
  contact: string[];
  status: AccountStatus;
  eabKid: string | null;
  /** The externalAccountBinding JWS (flattened) the account was created with (§7.1.2). */
  eabBinding: Record<string, unknown> | null;
  createdAt: Date;
}

export interface OrderRecord {
  id: string;
  accountId: string;
  status: OrderStatus;
  identifiers: Identifier[];
  profile: string;
  expiresAt: Date;
  error: StoredProblem | null;
  certSerial: string | null;
  /** Set while `processing`: the serial the certificate is being signed under (crash recovery). */
  issuingSerial?: string | null;
  replaces: string | null;
  createdAt: Date;
}

export interface AuthzRecord {
  id: string;
  orderId: string;
  accountId: string;
  identifier: Identifier;
  wildcard: boolean;
  status: AuthzStatus;
  expiresAt: Date;
}

export interface ChallengeRecord {
  id: string;
  authzId: string;
  type: string;
  token: string;
  status: ChallengeStatus;
  validatedAt: Date | null;
  error: StoredProblem | null;
}

export interface EabKeyRecord {
  kid: string;
  label: string;
  /** Sealed HMAC key (see acme/eab-keys.ts); never the key itself. */
  sealedKey: Uint8Array;
  scopes: string[];
  status: 'active' | 'revoked';
  accountId: string | null;
  createdAt: Date;
  /** After this instant an unbound key can no longer bind an account; null = never. */
  expiresAt: Date | null;
  /** A fleet key binds up to this many accounts (migration 009); null = one, the original rule. */
  maxAccounts: number | null;
  /** Accounts bound so far. */
  boundCount: number;
}

export const parseJson = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));
