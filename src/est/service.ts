import { isCaError } from '../domain/errors.ts';
import { certsOnlyPkcs7 } from '../x509/pkcs7.ts';
import type { EstContext } from './context.ts';
import { readEstCsr } from './csr.ts';
import { enroll } from './enroll.ts';
import { EstError, isEstError } from './errors.ts';
import { reenroll } from './reenroll.ts';

/** One EST request as plain values (the HTTP adapter, http/est.ts, fills it in). */
export interface EstRequest {
  method: string;
  /** The path after /.well-known/est/ (RFC 7030 §3.2.2). */
  operation: string;
  contentType: string | undefined;
  authorization: string | undefined;
  peerCertificate(): Uint8Array | null;
  /** The body; rejects with an EstError (413) past the adapter's limit. */
  body(): Promise<Buffer>;
  remoteAddress: string;
}

export interface EstReply {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

const PKCS7_HEADERS = { 'Content-Type': 'application/pkcs7-mime; smime-type=certs-only', 'Content-Transfer-Encoding': 'base64' };

/** base64 in lines of 64 (RFC 2045 §6.8 allows at most 76), as RFC 7030 §4.1.3 / §4.2.3 bodies are sent; LF line ends, which `base64 -d` and `openssl base64 -d` both read (GNU base64 refuses CR). */
const base64Lines = (der: Uint8Array) => (Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? []).join('\n') + '\n';

const OPERATIONS: Record<string, 'GET' | 'POST'> = { cacerts: 'GET', csrattrs: 'GET', simpleenroll: 'POST', simplereenroll: 'POST' };

/**
 * EST (RFC 7030) on the CA's TLS origin: cacerts, csrattrs, simpleenroll (a bootstrap credential),
 * simplereenroll (the current certificate over mTLS). Every refusal is a status with a plain-text
 * reason and an `est.refused` audit row; what is not the client's fault is logged and answered 500
 * without detail.
 */
export class EstService {
  readonly #ctx: EstContext;
  readonly #cacerts: string;

  constructor(ctx: EstContext) {
    this.#ctx = ctx;
    this.#cacerts = base64Lines(certsOnlyPkcs7(ctx.caCertificates));
  }

  async handle(req: EstRequest): Promise<EstReply> {
    try {
      return await this.#route(req);
    } catch (e) {
      if (isEstError(e)) {
        this.#audit(req, e);
        return { status: e.status, headers: { ...e.headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, body: `${e.message}\n` };
      }
      this.#ctx.logger.error('est.internal-error', { operation: req.operation, error: (e as Error)?.message ?? String(e), kind: isCaError(e) ? e.kind : undefined });
      return { status: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, body: 'internal error\n' };
    }
  }

  async #route(req: EstRequest): Promise<EstReply> {
    const method = OPERATIONS[req.operation];
    if (!method) {
      throw new EstError(404, 'notFound', req.operation.includes('/')
        ? 'this CA serves EST without a CA label (RFC 7030 §3.2.2): use /.well-known/est/<operation>'
        : `EST operation "${req.operation}" is not offered here (cacerts, csrattrs, simpleenroll, simplereenroll)`);
    }
    const allowed = method === 'GET' ? ['GET', 'HEAD'] : ['POST'];
    if (!allowed.includes(req.method)) throw new EstError(405, 'methodNotAllowed', `${req.operation} takes ${allowed.join(' or ')}`, { Allow: allowed.join(', ') });
    if (req.operation === 'cacerts') return { status: 200, headers: { ...PKCS7_HEADERS, 'Cache-Control': 'max-age=3600' }, body: this.#cacerts };
    // RFC 7030 §4.5.2: no attributes wanted beyond what the CSR policy already enforces.
    if (req.operation === 'csrattrs') return { status: 204, headers: { 'Cache-Control': 'max-age=3600' }, body: null };

    const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/pkcs10') throw new EstError(415, 'unsupportedMediaType', `${req.operation} takes Content-Type application/pkcs10 (base64 DER), not "${type || 'none'}"`);
    const readCsr = async () => readEstCsr(await req.body());
    const issued = req.operation === 'simpleenroll'
      ? await enroll(this.#ctx, req.authorization, readCsr)
      : await reenroll(this.#ctx, req.peerCertificate(), readCsr);
    this.#ctx.logger.info('est.issued', { operation: req.operation, serial: issued.serial, ...('replaces' in issued ? { replaces: issued.replaces } : { actor: issued.actor }) });
    // RFC 7030 §4.2.3: certs-only, holding only the issued certificate.
    return { status: 200, headers: { ...PKCS7_HEADERS, 'Cache-Control': 'no-store' }, body: base64Lines(certsOnlyPkcs7([issued.der])) };
  }

  #audit(req: EstRequest, e: EstError): void {
    if (e.status === 404 || e.status === 405) return;
    try {
      const store = this.#ctx.store;
      store.transaction(() =>
        store.audit.append({ at: this.#ctx.clock.now(), action: 'est.refused', actor: `est:${req.remoteAddress}`, target: req.operation, details: { status: e.status, reason: e.code, detail: e.message } }),
      );
    } catch (err) {
      this.#ctx.logger.error('est.audit-failed', { error: (err as Error).message });
    }
    this.#ctx.logger.info('est.refused', { operation: req.operation, status: e.status, reason: e.code });
  }
}
