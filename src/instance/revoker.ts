import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { recordRevocation } from '../authority/revocation.ts';
import { loadConfig } from '../config/config.ts';
import { systemClock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import type { CertRecord, RevocationReason } from '../domain/types.ts';
import { openStore } from '../store/store.ts';
import { certificateKeyId } from '../x509/key-id.ts';
import { databaseLocation } from './layout.ts';

export interface Revoker {
  revoke(serial: string, opts?: { reason?: RevocationReason; actor?: string }): Promise<CertRecord>;
  close(): void;
}

/**
 * An instance opened to record revocations (`pki revoke`): the database and the issuer's key id,
 * no key store, so no passphrase and no KDF. A running `pki serve` notices the commit within its
 * poll interval and signs the OCSP response and the CRL.
 */
export async function openRevoker(dirArg: string): Promise<Revoker> {
  const dir = resolve(dirArg);
  const config = await loadConfig(dir);
  let issuerKeyId: string;
  try {
    // Node's reader, not @peculiar/x509: the key id is all revoking needs of the certificate (#21).
    issuerKeyId = certificateKeyId(await readFile(resolve(dir, config.intermediate.certificate)));
  } catch (e) {
    throw new CaError('config', `cannot read CA certificate ${config.intermediate.certificate}: ${(e as Error).message}`);
  }
  const store = openStore(databaseLocation(dir, config.database));
  return {
    revoke: (serial, opts) => recordRevocation(store, issuerKeyId, serial, systemClock.now(), opts),
    close: () => store.close(),
  };
}
