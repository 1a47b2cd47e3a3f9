/**
 * The workload agent's surface: only the client side (src/client/), the X.509 helpers and the
 * domain types it needs. `pki-agent` is bundled from this file alone, so nothing it exports may
 * reach the server's dependencies (better-sqlite3, pkcs11js, hono, prom-client): the agent runs
 * on a bare Node or as a single executable with no node_modules (test/agent/, test/architecture.test.ts).
 *
 * Start-up (#19): a timer runs `pki-agent renew` on every host, and most runs find nothing due.
 * So the heavy modules (acme-client + axios, @peculiar/x509 + reflect-metadata, the ASN.1 OCSP/CRL
 * parsers) are reached only through dynamic import() from the functions that need them; esbuild
 * turns each into a lazily initialised module, evaluated on the first call and not at start.
 */
export { CaError, isCaError } from './domain/errors.ts';
export { parseDuration, formatDuration } from './domain/duration.ts';
export { parseKeyAlg, KEY_ALGS } from './domain/algorithms.ts';
export { parseIdentifier } from './domain/identifiers.ts';
export { toPem, fromPem } from './x509/pem.ts';
export type { Identifier } from './domain/types.ts';
export type { RevocationCheck, SourceResult } from './client/revocation-check.ts';
export { renew, type RenewOptions, type RenewOutcome } from './client/renew.ts';
export { bootstrapRoot } from './client/trust.ts';
export { runRenewDaemon, type DaemonOptions } from './client/daemon.ts';

type Fn<M, K extends keyof M> = M[K] extends (...a: infer A) => infer R ? (...a: A) => R : never;

export const checkRevocation: Fn<typeof import('./client/revocation-check.ts'), 'checkRevocation'> = async (...a) => (await import('./client/revocation-check.ts')).checkRevocation(...a);
export const enroll: Fn<typeof import('./client/enroll.ts'), 'enroll'> = async (...a) => (await import('./client/enroll.ts')).enroll(...a);
export const isRevoked: Fn<typeof import('./client/revocation.ts'), 'isRevoked'> = async (...a) => (await import('./client/revocation.ts')).isRevoked(...a);
export const revocationStatus: Fn<typeof import('./client/revocation.ts'), 'revocationStatus'> = async (...a) => (await import('./client/revocation.ts')).revocationStatus(...a);
