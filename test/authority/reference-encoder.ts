import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import type { Identifier } from '../../src/domain/types.ts';
import { signatureAlgorithmFor, type KeyAlg } from '../../src/domain/algorithms.ts';
import type { LeafProfile, IssuerUrls } from '../../src/authority/profiles.ts';
import { asnExtension, asnExtensions, type CertificateTemplate } from '../../src/x509/certificate.ts';
import { x509 } from '../../src/x509/x509.ts';

/**
 * The reference leaf encoder: the @peculiar/asn1-x509 objects + AsnConvert.serialize that
 * issuance used before the direct DER encoder. Kept only so the tests can prove byte equality.
 */
export function referenceTbsCertificateDer(tpl: CertificateTemplate, alg: KeyAlg): Uint8Array {
  const asName = (n: Uint8Array | asn1X509.Name) => (n instanceof Uint8Array ? AsnConvert.parse(n, asn1X509.Name) : n);
  const asExtension = (e: CertificateTemplate['extensions'][number]) => ('der' in e ? AsnConvert.parse(e.der, asn1X509.Extension) : e);
  const tbs = new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: new Uint8Array(Buffer.from(tpl.serial, 'hex')).buffer,
    signature: new asn1X509.AlgorithmIdentifier(signatureAlgorithmFor(alg)),
    issuer: asName(tpl.issuerName),
    validity: new asn1X509.Validity({ notBefore: tpl.notBefore, notAfter: tpl.notAfter }),
    subject: asName(tpl.subjectName),
    subjectPublicKeyInfo: AsnConvert.parse(tpl.publicKeySpki, asn1X509.SubjectPublicKeyInfo),
    extensions: new asn1X509.Extensions(tpl.extensions.map(asExtension)),
  });
  return new Uint8Array(AsnConvert.serialize(tbs));
}

/** The leaf subject as the old code built it: asn1-x509 objects, PrintableString when x509.Name would choose it. */
export function referenceSubjectName(commonName: string | null): asn1X509.Name {
  if (commonName === null) return new asn1X509.Name([]);
  const value = x509.Name.isPrintableString(commonName) ? new asn1X509.AttributeValue({ printableString: commonName }) : new asn1X509.AttributeValue({ utf8String: commonName });
  return new asn1X509.Name([new asn1X509.RelativeDistinguishedName([new asn1X509.AttributeTypeAndValue({ type: '2.5.4.3', value })])]);
}

/** The leaf extensions as the old LeafExtensionBuilder built them: x509 classes and asn1-x509 objects. */
export function referenceLeafExtensions(p: {
  authorityKeyId: string;
  urls: IssuerUrls;
  profile: LeafProfile;
  sans: Identifier[];
  subjectKeyId: string;
  isRsa: boolean;
  crlShard: number;
  subjectIsEmpty: boolean;
}): asn1X509.Extension[] {
  const usage = x509.KeyUsageFlags.digitalSignature | (p.isRsa ? x509.KeyUsageFlags.keyEncipherment : 0);
  const generalName = (s: Identifier) =>
    s.type === 'dns'
      ? new asn1X509.GeneralName({ dNSName: s.value })
      : s.type === 'ip'
        ? new asn1X509.GeneralName({ iPAddress: s.value })
        : new asn1X509.GeneralName({ uniformResourceIdentifier: s.value });
  return [
    ...asnExtensions([
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension(p.profile.eku, false),
    ]),
    asnExtension(asn1X509.id_ce_subjectAltName, p.subjectIsEmpty, new asn1X509.SubjectAlternativeName(p.sans.map(generalName))),
    asnExtension(asn1X509.id_ce_subjectKeyIdentifier, false, new asn1X509.SubjectKeyIdentifier(Buffer.from(p.subjectKeyId, 'hex'))),
    ...asnExtensions([
      new x509.AuthorityKeyIdentifierExtension(p.authorityKeyId),
      new x509.AuthorityInfoAccessExtension({ ocsp: [p.urls.ocsp], caIssuers: [p.urls.caIssuers] }),
      new x509.CRLDistributionPointsExtension([p.urls.crl(p.crlShard)]),
    ]),
  ];
}
