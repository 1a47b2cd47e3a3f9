import type { Clock } from '../domain/clock.ts';
import type { CertRecord, Identifier, RevocationReason } from '../domain/types.ts';
import type { Logger } from '../domain/log.ts';
import type { WorkloadTokenVerifier } from '../domain/workload-token.ts';
import type { AcmeStore } from '../store/acme-store.ts';
import type { AcmeLinks } from './links.ts';
import type { NonceService } from './nonces.ts';

/** The few authority methods ACME needs (a narrow interface, defined where it is used). */
export interface AcmeAuthority {
  /** `serial` is chosen (x509 generateSerial) and recorded on the order before signing, so a crash can be recovered. */
  issue(csr: Uint8Array, opts: { profile: string; identifiers: Identifier[]; actor: string; serial: string }): Promise<{ serial: string; chainPem: string }>;
  revoke(serial: string, opts: { reason: RevocationReason; actor: string }): Promise<CertRecord>;
  readonly profiles: Readonly<Record<string, { name: string; description: string }>>;
  readonly issuer: { keyId: string };
}

/** Certificates as recorded by the authority (store.certificates). */
export interface CertificateLookup {
  get(serial: string): CertRecord | null;
}

export interface AcmeSettings {
  requireEab: boolean;
  orderLifetimeMs: number;
  authzLifetimeMs: number;
  defaultProfile: string;
  website?: string;
  /** Poll interval suggested in Retry-After on pending objects (§8.2). */
  retryAfterS: number;
  /** How long a challenge POST waits for its validation to finish (0 = answer at once). */
  challengeWaitMs: number;
}

/** Starts asynchronous validation of a challenge (validation/queue.ts). */
export interface ValidationStarter {
  /**
   * Starts it in the background; the promise settles when the outcome is stored (it never rejects).
   * `response` is the client's challenge response payload when the type carries one (tkauth-01's `atc`).
   */
  start(challengeId: string, response?: Record<string, unknown>): Promise<void>;
}

/**
 * Workload identity tokens for the Authority Token challenge (RFC 9447 tkauth-01), given by the
 * composition root (src/instance/) so acme/ never depends on how tokens are checked.
 */
export interface AcmeWorkloadTokens {
  /** The verifier for tokens an account presents: one token may answer each authorization of that account, never another's. */
  forAccount(accountId: string): WorkloadTokenVerifier;
  /** Whether tkauth-01 is offered now (at least one issuer is trusted). */
  offered(): boolean;
}

/** Everything the handlers work with; built once by the HTTP layer's composition. */
export interface AcmeContext {
  store: AcmeStore;
  certificates: CertificateLookup;
  authority: AcmeAuthority;
  links: AcmeLinks;
  nonces: NonceService;
  clock: Clock;
  logger: Logger;
  settings: AcmeSettings;
  validations: ValidationStarter;
  /** Key that seals EAB HMAC keys at rest. */
  eabSealKey: Uint8Array;
  /** Orders whose finalize is signing in this process: the reconciler (reconcile.ts) leaves them alone. */
  finalizing: Set<string>;
  /** Intermediate certificate PEM, appended to every downloaded chain. */
  intermediatePem: string;
  /** Workload identity tokens (tkauth-01); absent = the challenge is never offered. */
  workloadTokens?: AcmeWorkloadTokens;
}

/** What a handler answers; the HTTP layer turns it into a response. */
export interface AcmeReply {
  status: number;
  json?: unknown;
  pem?: string;
  location?: string;
  retryAfterS?: number;
  links?: string[];
}
