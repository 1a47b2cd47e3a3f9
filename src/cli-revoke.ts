/**
 * The surface of `pki revoke` (#21), beside src/index.ts: recording a revocation needs the config,
 * the store and the issuer's key id, and nothing that serves, signs or speaks a protocol. Run next
 * to a busy `pki serve`, every module loaded is CPU the revocation waits for, so this surface
 * reaches no hono, acme, est, oauth or http code (test/cli/revoke-startup.test.ts walks its graph).
 * cli/common.ts takes databaseFailure from here too: every command loads it, revoke included.
 */
export { CaError, isCaError } from './domain/errors.ts';
export { REVOCATION_REASONS, type RevocationReason } from './domain/types.ts';
export { normalizeSerial, serialOfCertificate } from './x509/serial.ts';
export { openRevoker, type Revoker } from './instance/revoker.ts';
export { databaseFailure } from './store/sqlite.ts';
