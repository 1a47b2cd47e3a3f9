/**
 * The workload agent's surface: only the client side (src/client/), the X.509 helpers and the
 * domain types it needs. `pki-agent` is bundled from this file alone, so nothing it exports may
 * reach the server's dependencies (better-sqlite3, pkcs11js, hono, prom-client): the agent runs
 * on a bare Node or as a single executable with no node_modules (test/agent/, test/architecture.test.ts).
 */
export { CaError, isCaError } from './domain/errors.ts';
export { parseDuration, formatDuration } from './domain/duration.ts';
export { parseKeyAlg, KEY_ALGS } from './domain/algorithms.ts';
export { parseIdentifier } from './domain/identifiers.ts';
export { toPem, fromPem } from './x509/x509.ts';
export type { Identifier } from './domain/types.ts';
export { checkRevocation, type RevocationCheck, type SourceResult } from './client/revocation-check.ts';
export { enroll } from './client/enroll.ts';
export { renew, type RenewOptions, type RenewOutcome } from './client/renew.ts';
export { bootstrapRoot } from './client/trust.ts';
export { isRevoked } from './client/revocation.ts';
export { runRenewDaemon, type DaemonOptions } from './client/daemon.ts';
