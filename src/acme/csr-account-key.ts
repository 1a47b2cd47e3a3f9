import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import type { AcmeStore } from '../store/acme-store.ts';
import { x509 } from '../x509/x509.ts';
import { publicJwk, thumbprint } from './jws.ts';
import { badCsr, isAcmeProblem } from './problems.ts';

/**
 * RFC 8555 §11.1: the server MUST refuse a CSR whose public key is the key of an ACME account,
 * the requester's or any other (in any status). The CSR's key is turned into its RFC 7638
 * thumbprint and looked up on the accounts' unique thumbprint index; account JWKs are canonical
 * (jws.ts importAccountKey), so the same key always gives the same thumbprint.
 */
export async function refuseAccountKeyCsr(store: AcmeStore, csrDer: Uint8Array): Promise<void> {
  let spki: Buffer;
  try {
    spki = Buffer.from(new x509.Pkcs10CertificateRequest(csrDer as Uint8Array<ArrayBuffer>).publicKey.rawData);
  } catch {
    throw badCsr('the CSR is not a readable PKCS#10 request');
  }
  let print: string;
  try {
    const jwk = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' }) as JsonWebKey;
    print = await thumbprint(publicJwk(jwk as JWK));
  } catch (e) {
    // A key type no account can have (publicJwk refuses it) cannot be an account key; the authority judges the rest.
    if (isAcmeProblem(e) || (e as { code?: string }).code?.startsWith('ERR_')) return;
    throw e;
  }
  if (store.accounts.byThumbprint(print)) throw badCsr('the CSR public key is an ACME account key: certificates need a key of their own (RFC 8555 §11.1)');
}
