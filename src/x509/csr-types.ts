/**
 * The two shapes of a PKCS#10 request (RFC 2986): CsrParts as any of the parsers reads it
 * (decoded, signature verified, key through the key rules) and CsrInfo as the policy
 * (csr-policy.ts) accepts it. Parsers never judge what a request asks for; the policy alone does.
 */
import type { KeyAlg } from '../domain/algorithms.ts';
import type { Identifier } from '../domain/types.ts';

/** PKCS#9 extensionRequest (RFC 2985 §5.4.2): the attribute that carries the requested extensions. */
export const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** What the authority needs from a verified PKCS#10 request. */
export interface CsrInfo {
  der: Uint8Array;
  publicKeySpki: Uint8Array;
  keyAlg: KeyAlg;
  commonName: string | null;
  /** SANs requested in the extensionRequest, normalised. */
  sans: Identifier[];
  /** EKU OIDs the CSR asks for, if any (the profile decides; asking for more is refused). */
  requestedEku: string[];
  /** RFC 5280 §4.2.1.2 method 1 key identifier of the public key, hex (the leaf's SKI). */
  subjectKeyId: string;
  /** keyUsage bits the CSR asks for, by RFC 5280 §4.2.1.3 name (the profile decides; asking for more is refused). */
  requestedKeyUsage: string[];
  /** The TLS Feature extension's value (RFC 7633) when requested: copied into the leaf as it is. */
  tlsFeature: Uint8Array | null;
}

/** A GeneralName (RFC 5280 §4.2.1.6), typed as @peculiar/x509 names them ('dns', 'ip', 'url', 'email', 'dn', …); an IP as text. */
export interface RequestedName {
  type: string;
  value: string;
}

/**
 * A requested extension, decoded as far as the parsers need to agree; `other` carries its extnValue
 * (DER, the gate has checked it) for the policy's own rules (csr-extensions.ts).
 */
export type RequestedExtension = { id: string; critical: boolean } & ({ kind: 'basicConstraints'; ca: boolean } | { kind: 'san'; names: RequestedName[] } | { kind: 'eku'; oids: string[] } | { kind: 'other'; value: Uint8Array });

/** A request as read, before the policy: what CsrInfo holds about the key and subject, and the requested content raw. */
export interface CsrParts extends Omit<CsrInfo, 'sans' | 'requestedEku' | 'requestedKeyUsage' | 'tlsFeature'> {
  /** How many extensionRequest attributes the request carries. */
  extensionRequests: number;
  /** The first extensionRequest's extensions, in order. */
  extensions: RequestedExtension[];
}
