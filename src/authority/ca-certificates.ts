import type { Clock } from '../domain/clock.ts';
import type { KeyStore } from '../keystore/keystore.ts';
import type { Store } from '../store/store.ts';
import { asnExtensions, keyIdentifier } from '../x509/certificate.ts';
import { generateSerial } from '../x509/serial.ts';
import { x509 } from '../x509/x509.ts';
import { issueCertificate } from './issuance.ts';
import { IssuerKey } from './issuer-key.ts';
import { REQUIRED_EXTENSIONS } from './lint.ts';
import { caExtensions } from './profiles.ts';
import { nameConstraintsDer, type NameConstraints } from './name-constraints.ts';
import { validityFor } from './validity.ts';

/**
 * Signs a CA certificate (the self-signed root, or the intermediate under it) with the key
 * `signingKey` names in `keyStore`, through the same issuance as every leaf: linted, reserved,
 * signed once, recorded with its audit event. The signer is taken here, inside authority/.
 */
export async function issueCaCertificate(p: {
  store: Store;
  clock: Clock;
  keyStore: KeyStore;
  /** Label of the key that signs: the root's own for a self-signed root. */
  signingKey: string;
  subjectName: string;
  subjectSpki: Uint8Array;
  lifetimeMs: number;
  /** Absent for a self-signed root. */
  issuer?: { certificate: x509.X509Certificate; keyId: string };
  pathLength?: number;
  /** Written as a critical nameConstraints extension (an intermediate's least privilege). */
  nameConstraints?: NameConstraints;
  profile: 'root' | 'intermediate';
}): Promise<x509.X509Certificate> {
  const key = new IssuerKey(await p.keyStore.getSigner({ label: p.signingKey }));
  const subjectKeyId = keyIdentifier(p.subjectSpki);
  const subjectName = new Uint8Array(new x509.Name(p.subjectName).toArrayBuffer());
  const { notBefore, notAfter } = validityFor(p.clock.now().getTime(), p.lifetimeMs, p.issuer?.certificate ?? null);
  const der = await issueCertificate(
    { store: p.store, clock: p.clock, key },
    {
      template: {
        serial: generateSerial(),
        issuerName: p.issuer ? new Uint8Array(p.issuer.certificate.subjectName.toArrayBuffer()) : subjectName,
        subjectName,
        notBefore,
        notAfter,
        publicKeySpki: p.subjectSpki,
        extensions: asnExtensions(caExtensions({ pathLength: p.pathLength, subjectKeyId, authorityKeyId: p.issuer?.keyId, nameConstraints: p.nameConstraints && nameConstraintsDer(p.nameConstraints) })),
      },
      issuerKeyId: p.issuer?.keyId ?? subjectKeyId,
      issuerValidity: p.issuer?.certificate ?? null,
      required: REQUIRED_EXTENSIONS[p.profile],
      subject: p.subjectName,
      sans: [],
      profile: p.profile,
      actor: 'cli',
      event: { action: 'certificate.issued', details: { profile: p.profile, subject: p.subjectName } },
    },
  );
  return new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
}
