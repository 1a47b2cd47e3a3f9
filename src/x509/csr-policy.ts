/**
 * The CSR policy: what a request may ask for. One function for every parser (csr.ts reads a
 * request three ways), so a rule is written, changed and tested once.
 */
import { CaError } from '../domain/errors.ts';
import type { Identifier } from '../domain/types.ts';
import { checkIdentifier } from '../domain/identifiers.ts';
import type { CsrInfo, CsrParts } from './csr-types.ts';
import { judgeOtherExtension, type OtherExtensionVerdicts } from './csr-extensions.ts';

/**
 * Judges a parsed request: at most one extensionRequest attribute, then its extensions in order —
 * no CA:true (end-entity certificates only), SANs of DNS, IP and URI names only (each in canonical form), the
 * requested EKUs collected, and every other extension honoured or refused by csr-extensions.ts
 * (never dropped: RFC 5280 §4.2, and a requester must not believe it got what it did not).
 * Throws CaError('badCsr' | 'rejectedIdentifier').
 */
export function judgeCsr(p: CsrParts): CsrInfo {
  // RFC 2985 §5.4.2 extensionRequest is single-valued; two would be two answers to one question.
  if (p.extensionRequests > 1) throw new CaError('badCsr', 'the CSR carries more than one extensionRequest attribute');
  const sans: Identifier[] = [];
  let requestedEku: string[] = [];
  const other: OtherExtensionVerdicts = {};
  const seen = new Set<string>();
  for (const ext of p.extensions) {
    // RFC 5280 §4.2: one instance of an extension; a second would be read over or dropped.
    if (seen.has(ext.id)) throw new CaError('badCsr', `the CSR asks for extension ${ext.id} more than once`);
    seen.add(ext.id);
    if (ext.kind === 'basicConstraints') {
      if (ext.ca) throw new CaError('badCsr', 'the CSR asks for CA:true; this CA issues end-entity certificates only');
    } else if (ext.kind === 'san') {
      for (const n of ext.names) sans.push(sanToIdentifier(n.type, n.value));
    } else if (ext.kind === 'eku') {
      requestedEku = ext.oids;
    } else {
      judgeOtherExtension(ext, p.subjectKeyId, other);
    }
  }
  const { der, publicKeySpki, keyAlg, commonName, subjectKeyId } = p;
  return { der, publicKeySpki, keyAlg, commonName, sans, requestedEku, subjectKeyId, requestedKeyUsage: other.keyUsage ?? [], tlsFeature: other.tlsFeature ?? null };
}

/** A SAN through the identifier gate, unchanged: a name the gate would refuse in an order is refused in a CSR. */
function sanToIdentifier(type: string, value: string): Identifier {
  if (type === 'dns') return checkIdentifier({ type: 'dns', value });
  if (type === 'ip') return checkIdentifier({ type: 'ip', value });
  if (type === 'url') return checkIdentifier({ type: 'uri', value });
  throw new CaError('badCsr', `the CSR asks for a ${type} subject alternative name; only DNS, IP and URI names are issued`);
}
