import { afterAll, beforeAll } from 'vitest';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { startChallengeServer } from '../acme/support/challenge-server.ts';
import { startDnsServer, type TestDnsServer } from '../acme/support/dns-server.ts';
import { createTestCa } from './ca.ts';
import { freePort } from './ports.ts';

export interface AcmeServer {
  ca: CaInstance;
  server: RunningServer;
  /** The loopback DNS server the ACME validations resolve names with (dns-01 TXT records go here). */
  dns: TestDnsServer;
  /** The http-01 responder the validations fetch tokens from. */
  web: Awaited<ReturnType<typeof startChallengeServer>>;
  /** The test CA's root, PEM: what a client must trust for the HTTPS ACME directory. */
  rootPem: string;
}

/**
 * A test CA behind the real listener on 127.0.0.1, its ACME (no EAB) validating against a
 * loopback DNS server and http-01 responder; started before the file's tests, stopped after.
 * The fields are filled in by then. `ownBaseUrl`: the listener's port is picked first and made
 * the CA's base URL, so the OCSP and CRL URLs in what it issues point at this server.
 */
export function useAcmeServer(o: { ownBaseUrl?: boolean } = {}): AcmeServer {
  const t = {} as AcmeServer;
  beforeAll(async () => {
    const port = o.ownBaseUrl ? await freePort() : 0;
    t.ca = await createTestCa(o.ownBaseUrl ? { baseUrl: `http://127.0.0.1:${port}` } : {});
    t.rootPem = t.ca.root.toString('pem') + '\n';
    t.dns = await startDnsServer();
    t.web = await startChallengeServer();
    t.server = await startServer(t.ca, { host: '127.0.0.1', port, logger: silentLogger, acme: { requireEab: false, http01Port: t.web.port, dnsServer: t.dns.address } });
  });
  afterAll(async () => {
    await t.server?.close();
    await t.web?.close();
    await t.dns?.close();
    await t.ca?.close();
  });
  return t;
}
