import type { Clock } from '../domain/clock.ts';
import { CaError, isCaError } from '../domain/errors.ts';
import { sha256Hex } from '../domain/hash.ts';
import type { Store } from '../store/store.ts';
import { signCertificate, type CertificateTemplate } from '../x509/certificate.ts';
import type { IssuerKey } from './issuer-key.ts';
import { lintTemplate } from './lint.ts';
import type { IssuerValidity } from './validity.ts';

/** Everything about one certificate to be signed, decided before anything is written. */
export interface IssuanceRequest {
  template: CertificateTemplate;
  /** The issuer's key id as the store records it (the subject's own for a self-signed root). */
  issuerKeyId: string;
  /** The issuer certificate's validity, which the template must keep within; null for a root. */
  issuerValidity: IssuerValidity;
  /** Extensions the template must carry (lint.ts REQUIRED_EXTENSIONS). */
  required: readonly string[];
  subject: string;
  sans: string[];
  profile: string;
  /** Who asked, for the audit trail: `cli`, `acme:<account id>`, `system`. */
  actor: string;
  /** The audit event written in the same commit as the `valid` row. */
  event: { action: string; details: Record<string, unknown> };
  /** Other rows that belong to that same commit (e.g. the responder's `ocsp_responders` row). */
  alsoRecord?: (store: Store) => void;
  /** A renewal by the current certificate: the serial it replaces and its lineage start, written by the `valid` statement itself. */
  renewal?: { replaces: string; lineageStart: Date };
  /** SHA-256 (hex) of template.publicKeySpki when the caller has it already (LeafPreparer); computed here otherwise. */
  publicKeySha256?: string;
}

/**
 * The one way a certificate is signed (after Boulder's prepare → lint → issue): lint the prepared
 * template, reserve its serial as `pending` durably, sign exactly once (the encoder verifies the
 * signature against the issuer key), then record the DER as `valid` with its audit event durably.
 * A crash leaves at worst a `pending` row (reconciled later), never a signature the store does not
 * know; a signing failure marks the row `failed` with an audit row. Nothing is handed out before
 * the `valid` commit is on disk. Leaves, OCSP responder and CA certificates all come through here.
 */
export async function issueCertificate(d: { store: Store; clock: Clock; key: IssuerKey }, r: IssuanceRequest): Promise<Uint8Array> {
  const { store, clock } = d;
  const { template } = r;
  lintTemplate(template, { issuer: r.issuerValidity, required: r.required });
  const now = clock.now();

  // Durable before the key signs: a signature never exists for a serial the disk does not hold.
  await store.durably(() =>
    store.certificates.reserve({
      serial: template.serial,
      issuer: r.issuerKeyId,
      subject: r.subject,
      sans: r.sans,
      profile: r.profile,
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      publicKeySha256: r.publicKeySha256 ?? sha256Hex(template.publicKeySpki),
      now,
    }),
  );

  let der: Uint8Array;
  try {
    der = await signCertificate(template, d.key.asSigner());
  } catch (e) {
    await store.durably(() => {
      store.certificates.markFailed(template.serial);
      store.audit.append({ at: now, action: 'certificate.failed', actor: r.actor, target: template.serial, details: { error: (e as Error).message } });
    });
    throw isCaError(e) ? e : new CaError('keyStore', 'signing failed', { cause: e });
  }

  // Durable before the certificate is handed to anyone.
  await store.durably(() => {
    store.certificates.markValid(template.serial, der, r.renewal);
    r.alsoRecord?.(store);
    // The log entry (#17) names the exact certificate and its issuer key.
    store.audit.append({ at: now, action: r.event.action, actor: r.actor, target: template.serial, details: { ...r.event.details, issuer: r.issuerKeyId, sha256: sha256Hex(der) } });
  });
  return der;
}
