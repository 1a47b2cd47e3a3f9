import type { x509 } from '../x509/x509.ts';
import type { IssuerUrls } from './profiles.ts';

/**
 * The issuing CA as everyone may see it: its certificate, key id, URLs and CRL sharding.
 * The key that signs for it is not here: only the Authority holds it (issuer-key.ts).
 */
export interface IssuerInfo {
  certificate: x509.X509Certificate;
  /** Hex key identifier of the issuer key (its SKI): names the issuer in the store and in CRL URLs. */
  keyId: string;
  urls: IssuerUrls;
  crlShards: number;
}
