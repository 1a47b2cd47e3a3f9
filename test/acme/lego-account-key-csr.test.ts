import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { createTestCa } from '../helpers/ca.ts';
import { freePort } from '../helpers/ports.ts';
import { hasTool, run } from '../helpers/tools.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startDnsServer, type TestDnsServer } from './support/dns-server.ts';
import { runLego } from './support/lego.ts';

/**
 * RFC 8555 §11.1 with clients nobody here wrote: lego registers an account, openssl makes a
 * CSR from lego's own account key, and lego's finalize with it is refused as badCSR; the same
 * request with a key of its own is issued.
 */
const haveTools = hasTool('lego', ['--version']) && hasTool('openssl', ['version']);
const dir = tempDir();
let ca: CaInstance;
let server: RunningServer;
let dns: TestDnsServer;
let http01Port: number;
let rootFile: string;

const lego = (args: string[]) => runLego(rootFile, args);

beforeAll(async () => {
  if (!haveTools) return;
  ca = await createTestCa();
  rootFile = join(dir, 'root.pem');
  writeFileSync(rootFile, ca.root.toString('pem') + '\n');
  dns = await startDnsServer();
  http01Port = await freePort();
  server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: { requireEab: false, http01Port, dnsServer: dns.address } });
});

afterAll(async () => {
  await server?.close();
  await dns?.close();
  await ca?.close();
});

/** The one private key file under `root` whose path contains `part` (lego's account key). */
function findKey(root: string, part: string): string {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.includes(part) && p.endsWith('.key')) found.push(p);
    }
  };
  walk(root);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe.skipIf(!haveTools)('lego: a CSR with the account key', () => { // skips only locally: hasTool() throws when CI is set
  it('fail/lego finalizing with a CSR made from its account key gets badCSR; ok/with a key of its own it is issued', async () => {
    const path = join(dir, 'lego');
    const base = ['--server', server.acme!.directoryUrl, '--accept-tos', '--email', 'csr@lego.test', '--path', path, '--http', '--http.port', `127.0.0.1:${http01Port}`];
    const first = await lego([...base, '--domains', 'first.lego.test', 'run']);
    expect(first.code, first.out).toBe(0);

    const accountKey = findKey(join(path, 'accounts'), 'csr@lego.test');
    const csr = join(dir, 'account-key.csr');
    run('openssl', ['req', '-new', '-key', accountKey, '-subj', '/CN=stolen.lego.test', '-addext', 'subjectAltName=DNS:stolen.lego.test', '-out', csr]);
    const refused = await lego([...base, '--csr', csr, 'run']);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('badCSR');

    const ownKey = join(dir, 'own.key');
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ownKey]);
    const good = join(dir, 'own.csr');
    run('openssl', ['req', '-new', '-key', ownKey, '-subj', '/CN=stolen.lego.test', '-addext', 'subjectAltName=DNS:stolen.lego.test', '-out', good]);
    const issued = await lego([...base, '--csr', good, 'run']);
    expect(issued.code, issued.out).toBe(0);
  });
});
