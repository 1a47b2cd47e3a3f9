/** The public surface the CLI (and embedders) use. */
export { initInstance, type InitOptions, type InitResult } from './instance/init.ts';
export { openInstance, type CaInstance, type OpenOptions } from './instance/open.ts';
export { openInventory, type Inventory } from './instance/inventory.ts';
export { listKeysInUse, type KeyInUse } from './instance/keys.ts';
export { startServer, type RunningServer } from './server.ts';
export { createEab, listEab, revokeEab, type EabKeyInfo } from './acme/eab-admin.ts';
export type { AcmeConfig } from './acme/settings.ts';
export { jsonLogger, silentLogger, type Logger } from './log.ts';
export { CaError, isCaError } from './domain/errors.ts';
export { parseDuration, formatDuration } from './domain/duration.ts';
export { parseKeyAlg, KEY_ALGS } from './keystore/algorithms.ts';
export { PASSPHRASE_ENV, readSecretFile, resolvePin } from './instance/secrets.ts';
export { normalizeSerial } from './signer/serial.ts';
export { toPem, fromPem } from './signer/x509.ts';
export type { CertRecord, Identifier } from './domain/types.ts';
export { REVOCATION_REASONS, type RevocationReason } from './domain/types.ts';
export { checkRevocation, type RevocationCheck, type SourceResult } from './status/revocation-check.ts';
