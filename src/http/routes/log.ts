import { Hono, type Context } from 'hono';
import type { RequestListener } from 'node:http';
import { consistencyProof, inclusionProof, type Hash, type NodeReader } from '../../tlog/merkle.ts';
import { parseTilePath, TILE_HEIGHT, TILE_WIDTH } from '../../tlog/tiles.ts';
import { normalizeSerial } from '../../x509/serial.ts';

/** What the log routes read (the instance binds it to the store's TlogRepository). */
export interface LogSource {
  /** The note verifier key, when checkpoints are signed. */
  verifierKey: string | null;
  latestCheckpoint(): { size: number; note: string } | null;
  hashes(level: number, from: number, count: number): Buffer;
  entries(from: number, count: number): Buffer[];
  reader: NodeReader;
  issuanceIndex(serial: string): number | null;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Full tiles never change once written (C2SP tlog-tiles), so the bytes are kept by path (least
 * recently used out past `maxBytes`) and a repeated request is answered by `withTileFastPath` in
 * front of Hono, as pre-signed OCSP is.
 */
export class TileCache {
  readonly #tiles = new Map<string, Buffer>();
  #bytes = 0;
  constructor(readonly maxBytes = 64 * 1024 * 1024) {}

  get(path: string): Buffer | undefined {
    const t = this.#tiles.get(path);
    if (t) {
      this.#tiles.delete(path);
      this.#tiles.set(path, t);
    }
    return t;
  }

  set(path: string, tile: Buffer): void {
    if (this.#tiles.has(path) || tile.length > this.maxBytes) return;
    this.#tiles.set(path, tile);
    this.#bytes += tile.length;
    for (const [p, t] of this.#tiles) {
      if (this.#bytes <= this.maxBytes) break;
      this.#tiles.delete(p);
      this.#bytes -= t.length;
    }
  }
}

/** A node:http listener answering cached full tiles itself (GET /log/tile/…) and passing the rest to `next`. */
export function withTileFastPath(cache: TileCache, next: RequestListener): RequestListener {
  return (req, res) => {
    const hit = req.method === 'GET' && req.url?.startsWith('/log/tile/') ? cache.get(req.url) : undefined;
    if (!hit) return next(req, res);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': hit.length, 'Cache-Control': IMMUTABLE });
    res.end(hit);
  };
}
/** Partial tiles, checkpoints and proofs change as the log grows (a checkpoint at most every second). */
const FRESH = 'public, max-age=1, no-transform';
const b64 = (h: Hash) => Buffer.from(h).toString('base64');

function problem(c: Context, status: 400 | 404, detail: string, headers: Record<string, string> = {}) {
  return c.json({ type: 'about:blank', status, detail }, status, headers);
}

/** A non-negative integer query parameter (decimal, no sign or leading zeros), or an error text. */
function sizeParam(text: string | undefined, name: string): number | string | undefined {
  if (text === undefined) return undefined;
  return /^(0|[1-9]\d{0,15})$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : `"${name}" must be a decimal tree size`;
}

/**
 * The transparency log, read-only, at /log (issue #17): the latest signed checkpoint (C2SP
 * tlog-checkpoint), the tree as C2SP tlog-tiles (full tiles immutable), the verifier key, and
 * JSON proofs (inclusion by serial, consistency between two sizes). Everything is bounded by the
 * latest signed checkpoint, so nothing unsigned is published. Bad paths and sizes are 4xx.
 */
export function logRoutes(log: LogSource, cache?: TileCache): Hono {
  const app = new Hono();
  const signed = () => log.latestCheckpoint();

  app.get('/checkpoint', (c) => {
    const cp = signed();
    if (!cp) return problem(c, 404, 'no checkpoint has been signed yet');
    return c.body(cp.note, 200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': FRESH });
  });

  app.get('/vkey', (c) => {
    if (!log.verifierKey) return problem(c, 404, 'this instance signs no checkpoints (its key store holds no Ed25519 log key)');
    return c.body(`${log.verifierKey}\n`, 200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'public, max-age=3600' });
  });

  app.get('/tile/*', (c) => {
    const rest = c.req.path.slice(c.req.path.indexOf('/tile/') + '/tile/'.length);
    let t;
    try {
      t = parseTilePath(rest);
    } catch (e) {
      return problem(c, 400, (e as Error).message);
    }
    const size = signed()?.size ?? 0;
    const level = t.level ?? 0;
    // Stored hashes at tree level 8·L: one per complete subtree of 256^L leaves.
    const available = Math.floor(size / TILE_WIDTH ** level);
    if (t.index * TILE_WIDTH + t.width > available) return problem(c, 404, `tile/${rest} is beyond the latest signed checkpoint (size ${size})`);
    const from = t.index * TILE_WIDTH;
    const body =
      t.level === null
        ? Buffer.concat(log.entries(from, t.width).flatMap((e) => [Buffer.from([e.length >> 8, e.length & 0xff]), e]))
        : log.hashes(level * TILE_HEIGHT, from, t.width);
    if (t.width === TILE_WIDTH) cache?.set(c.req.path, body);
    return c.body(new Uint8Array(body), 200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': t.width === TILE_WIDTH ? IMMUTABLE : FRESH });
  });

  app.get('/proof/inclusion', (c) => {
    let serial: string;
    try {
      serial = normalizeSerial(c.req.query('serial') ?? '');
      if (!c.req.query('serial')) throw new Error('"serial" is required (hexadecimal)');
    } catch (e) {
      return problem(c, 400, (e as Error).message);
    }
    const cp = signed();
    const index = log.issuanceIndex(serial);
    if (index === null) return problem(c, 404, `no certificate with serial ${serial} is in the log`);
    if (!cp || index >= cp.size) return problem(c, 404, `certificate ${serial} is not yet covered by a signed checkpoint (one follows within a second)`, { 'Retry-After': '1' });
    const [entry] = log.entries(index, 1);
    return c.json(
      { serial, index, treeSize: cp.size, entry: entry ? entry.toString('base64') : null, proof: inclusionProof(log.reader, index, cp.size).map(b64), checkpoint: cp.note },
      200,
      { 'Cache-Control': FRESH },
    );
  });

  app.get('/proof/consistency', (c) => {
    const cp = signed();
    const from = sizeParam(c.req.query('from'), 'from');
    const to = sizeParam(c.req.query('to'), 'to') ?? cp?.size ?? 0;
    if (typeof from === 'string' || typeof to === 'string') return problem(c, 400, typeof from === 'string' ? from : String(to));
    if (from === undefined) return problem(c, 400, '"from" is required');
    const latest = cp?.size ?? 0;
    if (to > latest) return problem(c, 400, `"to" (${to}) is past the latest signed checkpoint (${latest})`);
    if (from > to) return problem(c, 400, `"from" (${from}) is larger than "to" (${to})`);
    return c.json({ from, to, proof: consistencyProof(log.reader, from, to).map(b64), checkpoint: cp?.note ?? null }, 200, { 'Cache-Control': FRESH });
  });
  return app;
}
