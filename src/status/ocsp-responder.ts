import type { Clock } from '../domain/clock.ts';
import type { IssuerHashes } from '../x509/issuer-hashes.ts';
import { SHA1_OID } from '../x509/issuer-hashes.ts';
import type { ServedResponse } from './ocsp-cache.ts';
import { parseOcspRequest, type OcspRequestInfo } from './ocsp-request.ts';
import { MALFORMED_REQUEST, signOcspResponse, UNAUTHORIZED, type CertStatusInfo, type ResponderKey } from './ocsp-response.ts';

/** What the responder needs from the rest of the status service (narrow, so tests can fake it). */
export interface OcspStatusSource {
  /** The pre-signed response for a serial if one is current in memory or the store (a synchronous read); else null. */
  stored(serial: string): ServedResponse | null;
  /** Asked only once `stored` said null: the response signed now (SHA-1 CertID, no nonce), or a rejection passing the request on. */
  signNow(serial: string): Promise<ServedResponse>;
  /** The certificate's status as the store has it now. */
  statusOf(serial: string): CertStatusInfo;
  /** The current delegated signing key. */
  responder(): Promise<ResponderKey>;
}

export type OcspAnswer =
  | { kind: 'presigned'; response: ServedResponse; cacheable: boolean }
  | { kind: 'signed'; body: Uint8Array } // signed for this request (nonce, several certs, other hash)
  | { kind: 'error'; body: Uint8Array };

export interface OcspResponderOptions {
  hashes: IssuerHashes;
  source: OcspStatusSource;
  clock: Clock;
  /** thisUpdate → nextUpdate of responses signed on demand. */
  validityMs: number;
  /** Requests asking about more certificates are refused (abuse limit). */
  maxCertsPerRequest: number;
}

/** RFC 8954 §2.1: a nonce of 1 to 32 octets; anything longer is refused. */
export const MAX_NONCE_OCTETS = 32;

/**
 * Answers one OCSP request (RFC 6960). The common request (one SHA-1 CertID, no nonce)
 * gets the pre-signed response; a nonce, several CertIDs or another hash algorithm are
 * signed on demand by the delegated responder key. Never throws on bad input: anything
 * that is not a valid request is `malformedRequest`, any issuer but ours `unauthorized`.
 */
export class OcspResponder {
  readonly #o: OcspResponderOptions;
  constructor(o: OcspResponderOptions) {
    this.#o = o;
  }

  /**
   * Synchronous when the answer is a stored pre-signed response or an error (nearly every request:
   * no promise, and the HTTP layer answers it in the same turn as a cached one); a promise when
   * something must be signed now or asked of another process.
   */
  answer(der: Uint8Array): OcspAnswer | Promise<OcspAnswer> {
    const req = parseOcspRequest(der);
    if (!req) return { kind: 'error', body: MALFORMED_REQUEST };
    if (req.certs.length > this.#o.maxCertsPerRequest) return { kind: 'error', body: MALFORMED_REQUEST };
    if (req.nonce && (req.nonce.length < 1 || req.nonce.length > MAX_NONCE_OCTETS)) return { kind: 'error', body: MALFORMED_REQUEST };
    for (const c of req.certs) {
      // A hash we do not compute cannot name our issuer: we are not authoritative for it.
      if (this.#o.hashes.match(c.hashAlgorithm, c.issuerNameHash, c.issuerKeyHash) !== 'ours') return { kind: 'error', body: UNAUTHORIZED };
    }
    const only = req.certs[0]!;
    if (req.certs.length === 1 && !req.nonce && only.hashAlgorithm === SHA1_OID && only.serial !== null && isCanonicalSha1CertId(only.certIdDer)) {
      const stored = this.#o.source.stored(only.serial);
      if (stored) return { kind: 'presigned', response: stored, cacheable: true };
      return this.#o.source.signNow(only.serial).then((response) => ({ kind: 'presigned', response, cacheable: true }));
    }
    return this.#signNow(req);
  }

  /** A nonce, several CertIDs or another hash: signed for this request by the delegated responder. */
  async #signNow(req: OcspRequestInfo): Promise<OcspAnswer> {
    const now = this.#o.clock.now();
    const responder = await this.#o.source.responder();
    const body = signOcspResponse({
      responder,
      producedAt: now,
      nonceExtnValue: req.nonceExtnValue,
      answers: req.certs.map((c) => ({
        certIdDer: c.certIdDer,
        status: c.serial === null ? { kind: 'unknown' } : this.#o.source.statusOf(c.serial),
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + this.#o.validityMs),
      })),
    });
    return { kind: 'signed', body };
  }
}

/**
 * Pre-signed responses carry the CertID as openssl and RFC 5019 clients write it
 * (SHA-1 with explicit NULL parameters). A request that wrote it differently
 * (parameters absent) gets a response signed for its own bytes, so the CertIDs match exactly.
 */
function isCanonicalSha1CertId(certIdDer: Uint8Array): boolean {
  // 30 len 30 09 06 05 2b0e03021a 05 00 ...
  return certIdDer[2] === 0x30 && certIdDer[3] === 0x09 && certIdDer[11] === 0x05 && certIdDer[12] === 0x00;
}
