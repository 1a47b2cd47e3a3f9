import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { startDnsServer, type TestDnsServer } from '../acme/support/dns-server.ts';
import { createTestCa } from '../helpers/ca.ts';
import { freePort } from '../helpers/ports.ts';

/** What workload-side tests talk to: a CA served in this process, a DNS server that answers 127.0.0.1 for every name. */
export interface WorkloadTestEnv {
  ca: CaInstance;
  server: RunningServer;
  /** Port the CA's http-01 validation connects to; enroll's built-in responder listens there. */
  http01Port: number;
  /** Port the CA's tls-alpn-01 validation connects to. */
  tlsAlpn01Port: number;
  rootFile: string;
}

/** Starts the environment before the file's tests and stops it after; read the fields inside tests. */
/** `dnsTxtFile`: "name value" lines the DNS server answers TXT queries from (a dns-01 hook writes them). */
export function useWorkloadTestEnv(work: string, o: { requireEab: boolean; dnsTxtFile?: string }): WorkloadTestEnv {
  const env = {} as WorkloadTestEnv;
  let dns: TestDnsServer | undefined;
  beforeAll(async () => {
    // The plain-HTTP port is fixed before init so the OCSP and CRL URLs in issued certificates reach this server.
    const httpPort = await freePort();
    env.ca = await createTestCa({ baseUrl: `http://127.0.0.1:${httpPort}` });
    env.http01Port = await freePort();
    env.tlsAlpn01Port = await freePort();
    dns = await startDnsServer({ txtFile: o.dnsTxtFile });
    env.server = await startServer(env.ca, {
      host: '127.0.0.1',
      port: httpPort,
      logger: silentLogger,
      acme: { port: 0, requireEab: o.requireEab, http01Port: env.http01Port, tlsAlpn01Port: env.tlsAlpn01Port, dnsServer: dns.address },
    });
    env.rootFile = join(work, 'root.pem');
    writeFileSync(env.rootFile, env.ca.root.toString('pem') + '\n');
  });
  afterAll(async () => {
    await env.server?.close();
    await dns?.close();
    await env.ca?.close();
  });
  return env;
}
