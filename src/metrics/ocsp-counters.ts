/** What became of an OCSP request. */
export const OCSP_RESULTS = ['cached', 'presigned', 'signed', 'error', 'tryLater'] as const;
export type OcspResult = (typeof OCSP_RESULTS)[number];
const METHODS = ['GET', 'POST'] as const;

/** Index of a (method, result) pair, fixed at module load so the hot path does no lookups. */
export const OCSP = {
  GET_CACHED: 0,
  GET_PRESIGNED: 1,
  GET_SIGNED: 2,
  GET_ERROR: 3,
  GET_TRY_LATER: 4,
  POST_CACHED: 5,
  POST_PRESIGNED: 6,
  POST_SIGNED: 7,
  POST_ERROR: 8,
  POST_TRY_LATER: 9,
} as const;

/**
 * OCSP request counts as plain numbers: the responder answers tens of thousands of requests
 * a second from a cache, so counting must be one array increment, no label hashing. The
 * Prometheus counter reads these at scrape time (metrics.ts).
 */
export class OcspCounters {
  readonly n = new Float64Array(METHODS.length * OCSP_RESULTS.length);

  /** Every (method, result) pair with its count, zeros included. */
  forEach(f: (method: string, result: string, count: number) => void): void {
    for (let m = 0; m < METHODS.length; m++) {
      for (let r = 0; r < OCSP_RESULTS.length; r++) f(METHODS[m]!, OCSP_RESULTS[r]!, this.n[m * OCSP_RESULTS.length + r]!);
    }
  }
}
