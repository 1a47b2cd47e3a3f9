import { readFile } from 'node:fs/promises';
import { CaError } from '../domain/errors.ts';
import type { ChallengeSolver } from './solvers.ts';

/** A compact JWS is three base64url parts; anything else in the file is a mistake worth naming before the server sees it. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Reads a workload identity token file. Read again at every use: a Kubernetes projected
 * service-account token is rotated in place by the kubelet, so yesterday's copy may have expired.
 */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CaError('malformed', `cannot read the token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const token = text.trim();
  if (token.length === 0) throw new CaError('malformed', `the token file ${path} is empty`);
  if (!COMPACT_JWT.test(token)) throw new CaError('malformed', `the token file ${path} does not hold a JWT (header.payload.signature)`);
  return token;
}

/**
 * tkauth-01 (RFC 9447): nothing to serve; the challenge is answered with `{"atc": <token>}`, the
 * token read from `tokenFile` at that moment.
 */
export function tokenTkauth01(tokenFile: string): ChallengeSolver {
  return {
    type: 'tkauth-01',
    async present() {},
    async cleanup() {},
    async close() {},
    response: async () => ({ atc: await readTokenFile(tokenFile) }),
  };
}
