import { CaError } from './errors.ts';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  y: 365 * 86_400_000,
};

/** Parses durations such as `90s`, `15m`, `24h`, `7d`, `10y` (also combined: `1d12h`) into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const re = /(\d+)\s*([smhdy])/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(trimmed)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (trimmed.length === 0 || matched !== trimmed.length || total <= 0) {
    throw new CaError('malformed', `invalid duration "${text}": use a number with a unit s, m, h, d or y, e.g. 24h or 7d`);
  }
  return total;
}

/** parseDuration, but also accepts zero (`0s`) for settings where 0 means "off". */
export function parseDurationOrZero(text: string): number {
  return /^\s*0+\s*[smhdy]\s*$/.test(text) ? 0 : parseDuration(text);
}

/** Formats milliseconds the way an operator reads them: `24h`, `7d`, `90m`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', UNIT_MS.d!], ['h', UNIT_MS.h!], ['m', UNIT_MS.m!]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
