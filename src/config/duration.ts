import { z } from 'zod';
import { parseDuration, parseDurationOrZero } from '../domain/duration.ts';

/**
 * A duration in pki.json, kept as the text the operator wrote ("90s", "24h", "7d", "1d12h"):
 * code reads it with parseDuration. `orZero` also allows "0s" for settings where 0 means off.
 */
export function duration(o: { orZero?: boolean } = {}) {
  const parse = o.orZero ? parseDurationOrZero : parseDuration;
  return z.string().refine(
    (s) => {
      try {
        parse(s);
        return true;
      } catch {
        return false;
      }
    },
    o.orZero ? 'must be a duration such as 2s, or 0s' : 'must be a duration such as 24h or 30m',
  );
}
