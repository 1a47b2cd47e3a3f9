import { CaError } from '../domain/errors.ts';

/**
 * C2SP tlog-tiles paths (https://c2sp.org/tlog-tiles): tiles of height 8 (256 hashes), the tile
 * index written as 3-digit groups with all but the last prefixed by "x" (1234067 → x001/x234/067),
 * a partial tile suffixed `.p/<W>` (1 ≤ W ≤ 255). Level L of tiles holds tree level 8·L.
 */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

export interface TileRef {
  /** `null` for an entry bundle (`tile/entries/…`). */
  level: number | null;
  index: number;
  /** 256 for a full tile. */
  width: number;
}

export function formatIndex(n: number): string {
  const groups: string[] = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(t: TileRef): string {
  const base = `tile/${t.level === null ? 'entries' : t.level}/${formatIndex(t.index)}`;
  return t.width === TILE_WIDTH ? base : `${base}.p/${t.width}`;
}

/** Parses what follows `tile/`; a path the spec would not write is `malformed`. */
export function parseTilePath(rest: string): TileRef {
  const m = /^(entries|0|[1-9]\d?)\/((?:x\d{3}\/)*)(\d{3})(?:\.p\/([1-9]\d{0,2}))?$/.exec(rest);
  const bad = () => new CaError('malformed', `not a tile path: "tile/${rest.slice(0, 120)}"`);
  if (!m) throw bad();
  const groups = [...m[2]!.split('/').filter(Boolean).map((g) => g.slice(1)), m[3]!];
  // No leading "x000/" group: each index has one spelling.
  if (groups.length > 1 && groups[0] === '000') throw bad();
  if (groups.length > 5) throw bad();
  const index = groups.reduce((acc, g) => acc * 1000 + Number(g), 0);
  const width = m[4] === undefined ? TILE_WIDTH : Number(m[4]);
  if (m[4] !== undefined && width >= TILE_WIDTH) throw bad();
  const level = m[1] === 'entries' ? null : Number(m[1]);
  if (level !== null && level > 7) throw bad();
  return { level, index, width };
}
