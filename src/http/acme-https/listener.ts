import { constants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { AcmeService } from '../../acme/create.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Logger } from '../../domain/log.ts';
import { readNodeBody } from '../body-limit.ts';
import { closeSilentConnections, drainServer, headersLimitMs, ListenerGate, listenOn, timeoutOptions, type RequestTimeouts } from '../server-limits.ts';
import type { AcmePipeline } from './pipeline.ts';
import { renewDelayMs, type ServerCertificate } from './tls-certificate.ts';

export interface AcmeListener {
  /** https://HOST:PORT/acme/directory */
  directoryUrl: string;
  service: AcmeService;
  /** Stops taking connections and requests at once; those under way get up to `graceMs` to finish. */
  close(graceMs?: number): Promise<void>;
}

/** What the listener needs, handed in by the composition root (instance/acme.ts). */
export interface AcmeListenerDeps {
  host: string;
  port: number;
  /** Names in the listener's certificate; the first is used in the directory URL when `host` is a wildcard. */
  hostnames: string[];
  /** The origin clients use when it is not this listener's own (a load balancer in front of replicas). */
  externalUrl?: string;
  logger: Logger;
  clock: Clock;
  /** Issues the listener's own certificate (again two thirds into its lifetime). */
  issueCertificate(): Promise<ServerCertificate>;
  /** The ACME service and its pipeline (with EST and OAuth beside it) for the origin clients use, known once the port is bound. */
  openPipeline(origin: string): Promise<{ service: AcmeService; pipeline: AcmePipeline }>;
  /** Runs once the port is bound, before the listener's certificate is signed (the rest of the start that may sign). */
  afterBind?(): Promise<void>;
  /** How long a client may take to send one request. */
  timeouts: RequestTimeouts;
}

/**
 * TLS 1.2 and 1.3, AEAD suites only (BCP 195 / RFC 9325 §4.2): ECDHE with AES-GCM or
 * ChaCha20-Poly1305, no CBC-SHA. The TLS 1.3 suites are named too: Node sets them from the
 * same list, and a list without any would turn TLS 1.3 off. No session resumption
 * (SSL_OP_NO_TICKET, and no session cache): every connection is a full handshake, so an EST
 * renewal always proves possession of the current certificate's key afresh (RFC 7030 §3.3.2),
 * and the server stops encoding and encrypting two stateless TLS 1.3 tickets per connection
 * that a once-a-day client never uses (a quarter of a handshake's CPU, docs/benchmarks.md #18).
 * Key exchange stays OpenSSL's default (X25519 first): P-256 measured no cheaper.
 */
export const ACME_TLS = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_TICKET,
} as const;

/**
 * Serves ACME over HTTPS on its own port with a certificate the CA issues to
 * itself for the configured hostnames, renewed two thirds into its lifetime.
 * The port is bound first: a busy port fails before anything is signed.
 */
export async function startAcmeListener(d: AcmeListenerDeps): Promise<AcmeListener> {
  const gate = new ListenerGate();
  let pipeline: AcmePipeline | null = null;
  // No certificate yet: a handshake before it is set fails, and the gate answers 503 until the pipeline is open.
  // A client certificate is asked for, never required nor verified here (RFC 7030 §3.3.2, RFC 8705
  // §2): ACME clients send none; EST re-enrollment and OAuth mTLS check the one they get themselves.
  const server: Server = createServer({ ...ACME_TLS, ...timeoutOptions(d.timeouts), handshakeTimeout: headersLimitMs(d.timeouts), requestCert: true, rejectUnauthorized: false }, gate.guard((req, res) => serve(pipeline!, req, res, d.logger)));
  closeSilentConnections(server, d.timeouts, { tls: true });
  await listenOn(server, d.port, d.host, 'ACME');
  const port = (server.address() as AddressInfo).port;
  const wildcard = d.host === '0.0.0.0' || d.host === '::' || d.host === '';
  const hostInUrl = wildcard ? d.hostnames[0]! : d.host.includes(':') ? `[${d.host}]` : d.host;
  const origin = d.externalUrl ?? `https://${hostInUrl}:${port}`;
  let cert: ServerCertificate;
  let opened: { service: AcmeService; pipeline: AcmePipeline };
  try {
    await d.afterBind?.();
    cert = await d.issueCertificate();
    server.setSecureContext({ ...ACME_TLS, key: cert.keyPem, cert: cert.chainPem });
    opened = await d.openPipeline(origin);
  } catch (e) {
    server.close();
    throw e;
  }
  pipeline = opened.pipeline;
  gate.open();

  let timer: NodeJS.Timeout;
  const scheduleRenewal = () => {
    timer = setTimeout(() => {
      d.issueCertificate()
        .then((next) => {
          cert = next;
          server.setSecureContext({ ...ACME_TLS, key: cert.keyPem, cert: cert.chainPem });
          d.logger.info('acme.tls.renewed', { notAfter: cert.notAfter.toISOString() });
        })
        .catch((e) => d.logger.error('acme.tls.renewal-failed', { error: (e as Error).message }))
        .finally(scheduleRenewal);
    }, renewDelayMs(cert, d.clock.now()));
    timer.unref();
  };
  scheduleRenewal();

  return {
    directoryUrl: `${origin}/acme/directory`,
    service: opened.service,
    close: async (graceMs = DEFAULT_GRACE_MS) => {
      // Synchronously, before the first await: no new connection nor request from here on.
      gate.close();
      clearTimeout(timer);
      await drainServer(server, graceMs);
      await opened.service.close();
    },
  };
}

/** How long requests under way may take to finish when close() is given no grace. */
const DEFAULT_GRACE_MS = 10_000;

/** One node:http request through the pipeline: the path, Content-Type and client address in, the response written out. */
function serve(pipeline: AcmePipeline, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  pipeline
    .handle({
      method: req.method ?? 'GET',
      path: pathOf(target),
      query: q === -1 ? '' : target.slice(q + 1),
      contentType: req.headers['content-type'],
      header: (name) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      },
      peerCertificate: () => peerCertificateOf(req.socket as TLSSocket),
      remoteAddress: req.socket.remoteAddress ?? 'unknown',
      body: (limit) => readNodeBody(req, limit),
    })
    .then((r) => {
      const headers = r.headers as Record<string, string | string[] | number>;
      const body = req.method === 'HEAD' ? null : r.body;
      // Every response but a 204 says its length, 0 included: without one, clients such as Node's
      // do not reuse the connection after HEAD newNonce and pay a new TLS handshake.
      if (r.status !== 204) headers['Content-Length'] = r.body === null ? 0 : typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.byteLength;
      res.writeHead(r.status, headers);
      res.end(body ?? undefined);
      // A body nobody read (a GET with one, a refused POST) is drained so the connection stays usable.
      if (!req.complete) req.resume();
    })
    .catch((e: unknown) => {
      logger.error('acme.response-failed', { error: (e as Error).message });
      res.destroy();
    });
}

/** The DER of the client's certificate on this connection, or null when it sent none. */
function peerCertificateOf(socket: TLSSocket): Uint8Array | null {
  // getPeerX509Certificate wraps the DER; getPeerCertificate would translate every field into an object first (5% of a token request's CPU).
  const peer = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
  return peer ? new Uint8Array(peer.raw) : null;
}

/** The path of a request target, without the query; an absolute-form target ("https://host/x") gives its path. */
function pathOf(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (path.startsWith('/')) return path;
  try {
    return new URL(path).pathname;
  } catch {
    return '/';
  }
}
