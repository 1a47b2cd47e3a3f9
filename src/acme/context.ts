import type { Clock } from '../domain/clock.ts';
import type { CertRecord, Identifier, RevocationReason } from '../domain/types.ts';
import type { Logger } from '../domain/log.ts';
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
  /** Starts it in the background; the promise settles when the outcome is stored (it never rejects). */
  start(challengeId: string): Promise<void>;
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
