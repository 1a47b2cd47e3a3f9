/**
 * npm acme-client with its default settings, as users run it (#21): one account, `concurrency`
 * orders at a time through `client.auto` (http-01), against any ACME server. Every HTTP answer is
 * counted at axios's adapter, below acme-client's own retry, so a 429 it slept on still counts.
 * Used by scripts/bench-acme.ts beside the lean generator.
 */
import acme from 'acme-client';
import axios from 'axios';
import { Agent } from 'node:https';
import { makeCsrs } from './bench/workload.ts';

export interface AcmeClientResult {
  orders: number;
  seconds: number;
  p50: number;
  p99: number;
  requestsPerOrder: number;
  rateLimited: number;
  serverErrors: number;
}

let installed = false;
const seen = { requests: 0, rateLimited: 0, serverErrors: 0 };

/** Wraps axios's adapter once: every response acme-client receives passes here, retries included. */
function countResponses(): void {
  if (installed) return;
  installed = true;
  const base = axios.getAdapter(acme.axios.defaults.adapter ?? 'http');
  acme.axios.defaults.adapter = async (config) => {
    seen.requests++;
    try {
      return await base(config);
    } catch (e) {
      const status = (e as { response?: { status?: number } }).response?.status ?? 0;
      if (status === 429) seen.rateLimited++;
      if (status >= 500) seen.serverErrors++;
      throw e;
    }
  };
}

export async function runAcmeClient(o: { directoryUrl: string; caPem: string; orders: number; concurrency: number; serve: (token: string, keyAuth: string) => void; tag: string }): Promise<AcmeClientResult> {
  countResponses();
  acme.axios.defaults.httpsAgent = new Agent({ ca: o.caPem, keepAlive: true });
  const client = new acme.Client({ directoryUrl: o.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
  await client.createAccount({ termsOfServiceAgreed: true });
  const work = await makeCsrs(o.orders, `ac-${o.tag}-`);
  const before = { ...seen };
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < work.length) {
        const w = work[next++]!;
        const s = performance.now();
        await client.auto({
          csr: pemOf(w.csr),
          termsOfServiceAgreed: true,
          challengePriority: ['http-01'],
          skipChallengeVerification: true,
          challengeCreateFn: async (_authz, ch, keyAuthorization) => o.serve(ch.token, keyAuthorization),
          challengeRemoveFn: async () => {},
        });
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return { orders: o.orders, seconds, p50: pct(50), p99: pct(99), requestsPerOrder: (seen.requests - before.requests) / o.orders, rateLimited: seen.rateLimited - before.rateLimited, serverErrors: seen.serverErrors - before.serverErrors };
}

/** makeCsrs gives base64url DER (what the lean client sends); acme-client takes PEM. */
function pemOf(b64url: string): string {
  const b64 = Buffer.from(b64url, 'base64url').toString('base64');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}
