import type { StoredCrl } from '../store/crls.ts';
import type { Store } from '../store/store.ts';
import { crlShardFor } from '../domain/crl-shards.ts';
import { buildCrl, type CrlEntry } from '../x509/crl.ts';
import type { IssuerInfo } from './issuer.ts';
import type { IssuerKey } from './issuer-key.ts';
import { isUniqueViolation } from '../store/sql.ts';

export interface CrlRequest {
  shard: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Revoked certificates that expired longer ago than this are no longer listed (RFC 5280 §5: may be removed after expiry). */
  listExpiredSince: Date;
}

/**
 * The CRL sibling of issueCertificate: the authority decides the contents (every revoked
 * certificate of this issuer whose serial maps to the shard), takes the next CRL Number, signs
 * once, and records the CRL durably before anyone may serve it. The number is claimed by the
 * insert: if another process stored that number first, the CRL is built again with the next one
 * (a CRL never stored is never served, so its discarded signature names nothing anyone saw).
 */
export async function issueCrl(d: { store: Store; key: IssuerKey; issuer: IssuerInfo; issuerName: Uint8Array }, r: CrlRequest): Promise<StoredCrl> {
  const { store, issuer } = d;
  for (let attempt = 0; ; attempt++) {
    const number = store.crls.nextNumber(issuer.keyId);
    const built = await buildCrl(
      {
        issuerName: d.issuerName,
        issuerKeyId: issuer.keyId,
        number,
        thisUpdate: r.thisUpdate,
        nextUpdate: r.nextUpdate,
        // One shard is the complete CRL: no IDP (see CrlContents.distributionPoint).
        distributionPoint: issuer.crlShards > 1 ? issuer.urls.crl(r.shard) : null,
        entries: shardEntries(store.crls.revoked(issuer.keyId, r.listExpiredSince), r.shard, issuer.crlShards),
      },
      d.key.asSigner(),
    );
    const record: StoredCrl = { issuer: issuer.keyId, shard: r.shard, number, thisUpdate: r.thisUpdate, nextUpdate: r.nextUpdate, entries: built.entries, der: built.der };
    try {
      await store.durably(() => store.crls.add(record));
      return record;
    } catch (e) {
      // Another process took this number meanwhile: build again with the next one.
      if (isUniqueViolation(e) && attempt < 3) continue;
      throw e;
    }
  }
}

function* shardEntries(all: Iterable<CrlEntry>, shard: number, shards: number): Iterable<CrlEntry> {
  for (const e of all) if (shards <= 1 || crlShardFor(e.serial, shards) === shard) yield e;
}
