import { createServer, type Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';
import { systemClock } from '../domain/clock.ts';
import { openDatabase } from '../store/sqlite.ts';
import { OcspResponseRepository } from '../store/ocsp-responses.ts';
import { IssuerHashes } from '../x509/issuer-hashes.ts';
import { OcspResponseCache } from '../status/ocsp-cache.ts';
import { OcspResponder, type OcspStatusSource } from '../status/ocsp-responder.ts';
import { StoredResponseFeed } from '../status/stored-responses.ts';
import { NotAnsweredHere, OcspHttpHandler } from '../http/ocsp/handler.ts';
import { withOcspFastPath } from '../http/ocsp/listener.ts';
import { closeSilentConnections, drainServer, timeoutOptions } from '../http/server-limits.ts';
import { answerClientError } from '../http/body-limit.ts';
import { forwardTo } from '../http/ocsp/workers/forward.ts';
import type { WorkerConfig } from '../http/ocsp/workers/pool.ts';

/**
 * An OCSP worker process: serves pre-signed responses from a read-only view of the
 * database (no keys, no passphrase) on the socket the primary listens on, and hands
 * everything else (nonce, several CertIDs, unknown serials, other routes) to the primary.
 */
/** Everything but the socket: opened before the primary hands the listening socket over (see below). */
function prepare(c: WorkerConfig): { server: HttpServer; held: () => number } {
  const db = openDatabase(c.dbPath, { readonly: true });
  // The same bounded hot set as the primary, reading misses from the database by serial: no second full copy.
  const cache = new OcspResponseCache({ maxEntries: c.cacheEntries });
  const feed = new StoredResponseFeed({ db, responses: new OcspResponseRepository(db), cache });
  feed.mark();
  // No signing key here: anything the responder would sign, or a serial with no fresh pre-signed response, is not ours to answer.
  const notHere = (): never => {
    throw new NotAnsweredHere();
  };
  const source: OcspStatusSource = {
    stored: (serial) => cache.get(serial, systemClock.now().getTime()),
    // Nothing current in the database (never issued, or revoked and not yet re-signed): the primary signs.
    signNow: async () => notHere(),
    statusOf: notHere,
    responder: async () => notHere(),
  };
  const responder = new OcspResponder({
    hashes: new IssuerHashes(new Uint8Array(Buffer.from(c.issuerCertificate, 'base64'))),
    source,
    clock: systemClock,
    validityMs: c.ocspValidityMs,
    maxCertsPerRequest: c.maxCertsPerRequest,
  });
  const handler = new OcspHttpHandler({ responder, cache, clock: systemClock });
  const passOn = forwardTo(c.primaryPort);
  const poll = setInterval(() => {
    try {
      if (feed.changed()) feed.load();
    } catch (e) {
      // A busy or briefly unreadable database: the next poll tries again; meanwhile serve what we have.
      process.stderr.write(`ocsp worker ${process.pid}: poll failed: ${(e as Error).message}\n`);
    }
  }, c.pollIntervalMs);
  const evict = setInterval(() => cache.evictExpired(systemClock.now().getTime()), c.maintenanceIntervalMs);
  poll.unref();
  evict.unref();
  const server = createServer(timeoutOptions(c.timeouts), withOcspFastPath(handler, (req, res) => passOn(req, res), passOn)).on('clientError', answerClientError);
  closeSilentConnections(server, c.timeouts);
  // The primary stops its workers with SIGTERM: stop taking connections, let requests under way finish
  // (none can last past the request time limit), then exit.
  process.once('SIGTERM', () => void drainServer(server, c.timeouts.requestMs).then(() => process.exit(0)));
  return { server, held: () => cache.size };
}

// The primary owns this process: when its IPC channel closes (it exited, even by SIGKILL), so do we.
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the primary stops its workers itself.
process.on('SIGINT', () => {});
/**
 * Two steps, because Node's child_process starts accepting on a received server handle the moment
 * the message carrying it arrives, whether or not anything here listens for connections yet: a
 * connection accepted before `server.listen(handle)` would never be read or answered. So the
 * primary sends the config first; once this process has loaded and opened everything it answers
 * `prepared`, and only then does the socket come, taken over by the HTTP server in the same tick.
 */
let prepared: ReturnType<typeof prepare> | null = null;
const failed = (e: unknown) => process.send?.({ type: 'failed', error: (e as Error).message }, () => process.exit(1));
process.on('message', (m: { type: 'start'; config: WorkerConfig } | { type: 'listen' }, handle: unknown) => {
  if (m.type === 'start') {
    try {
      prepared = prepare(m.config);
      process.send?.({ type: 'prepared' });
    } catch (e) {
      failed(e);
    }
    return;
  }
  if (m.type !== 'listen' || !prepared) return;
  const { server, held } = prepared;
  server.once('error', failed);
  server.listen(handle as Server, () => process.send?.({ type: 'ready', responses: held() }));
});
