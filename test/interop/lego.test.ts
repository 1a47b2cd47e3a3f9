import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEabKey } from '../../src/acme/eab.ts';
import { normalizeSerial } from '../../src/x509/serial.ts';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { startDnsServer, type TestDnsServer } from '../acme/support/dns-server.ts';
import { runLego } from '../acme/support/lego.ts';
import { expectVerifies, sansOf } from '../acme/support/verify.ts';
import { createTestCa } from '../helpers/ca.ts';
import { freePort } from '../helpers/ports.ts';
import { hasTool } from '../helpers/tools.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * Interop with lego (Debian's build, a client nobody here wrote) against the real
 * server: EAB registration, then http-01 and tls-alpn-01 with lego's built-in
 * servers, dns-01 through lego's exec provider and a loopback DNS server; revocation.
 */
const haveLego = hasTool('lego', ['--version']) && hasTool('openssl', ['version']);
const dir = tempDir();
const txtFile = join(dir, 'txt-records');
let ca: CaInstance;
let server: RunningServer;
let dns: TestDnsServer;
let http01Port: number;
let tlsPort: number;
let rootFile: string;
const eabOf = new Map<string, { kid: string; hmacKey: string }>();

const lego = (args: string[], env: Record<string, string> = {}) => runLego(rootFile, args, env);

beforeAll(async () => {
  if (!haveLego) return;
  ca = await createTestCa();
  rootFile = join(dir, 'root.pem');
  writeFileSync(rootFile, ca.root.toString('pem') + '\n');
  writeFileSync(txtFile, '');
  dns = await startDnsServer({ txtFile });
  http01Port = await freePort();
  tlsPort = await freePort();
  server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: { requireEab: true, http01Port, tlsAlpn01Port: tlsPort, dnsServer: dns.address } });
});

afterAll(async () => {
  await server?.close();
  await dns?.close();
  await ca?.close();
});

/** Runs `lego run` with a fresh EAB key scoped to *.lego.test and returns the issued chain. */
async function legoRun(name: string, domains: string[], challengeArgs: string[], env: Record<string, string> = {}): Promise<string> {
  const { ctx } = server.acme!.service;
  const eab = createEabKey(ctx.store, ctx.eabSealKey, { label: name, scopes: ['dns:*.lego.test'], clock: ca.clock });
  eabOf.set(name, eab);
  const path = join(dir, name);
  const r = await lego(
    ['--server', server.acme!.directoryUrl, '--accept-tos', '--email', `${name}@lego.test`, '--path', path, '--eab', '--kid', eab.kid, '--hmac', eab.hmacKey, ...domains.flatMap((d) => ['--domains', d]), ...challengeArgs, 'run'],
    env,
  );
  expect(r.code, r.out).toBe(0);
  return readFileSync(join(path, 'certificates', `${domains[0]!.replace('*', '_')}.crt`), 'utf8');
}

describe.skipIf(!haveLego)('lego interop', () => { // skips only locally: hasTool() throws when CI is set
  it('registers with EAB and enrolls through http-01 (lego built-in server)', async () => {
    const chain = await legoRun('http', ['www.lego.test', 'api.lego.test'], ['--http', '--http.port', `127.0.0.1:${http01Port}`]);
    expect(sansOf(expectVerifies(dir, readFileSync(rootFile, 'utf8'), chain))).toEqual(['dns:api.lego.test', 'dns:www.lego.test']);
  });

  it('enrolls through tls-alpn-01 (RFC 8737, lego built-in server)', async () => {
    const chain = await legoRun('tls', ['tls.lego.test'], ['--tls', '--tls.port', `127.0.0.1:${tlsPort}`]);
    expect(sansOf(expectVerifies(dir, readFileSync(rootFile, 'utf8'), chain))).toEqual(['dns:tls.lego.test']);
  });

  it('enrolls a wildcard through dns-01 (exec provider → loopback DNS server)', async () => {
    const script = join(dir, 'dns-hook.sh');
    writeFileSync(script, `#!/bin/sh\n# lego exec provider: present|cleanup <fqdn> <value>\nif [ "$1" = present ]; then echo "$2 $3" >> ${txtFile}; fi\n`);
    chmodSync(script, 0o755);
    const chain = await legoRun('dns', ['*.dns.lego.test'], ['--dns', 'exec', '--dns.resolvers', dns.address, '--dns.disable-cp'], {
      EXEC_PATH: script,
      EXEC_POLLING_INTERVAL: '1',
      EXEC_PROPAGATION_TIMEOUT: '20',
    });
    expect(sansOf(expectVerifies(dir, readFileSync(rootFile, 'utf8'), chain))).toEqual(['dns:*.dns.lego.test']);
  });

  it('is refused an identifier outside its EAB scope', async () => {
    const { ctx } = server.acme!.service;
    const eab = createEabKey(ctx.store, ctx.eabSealKey, { label: 'scoped', scopes: ['dns:*.lego.test'], clock: ca.clock });
    const r = await lego(['--server', server.acme!.directoryUrl, '--accept-tos', '--email', 'x@lego.test', '--path', join(dir, 'scoped'), '--eab', '--kid', eab.kid, '--hmac', eab.hmacKey, '--domains', 'evil.example', '--http', '--http.port', `127.0.0.1:${http01Port}`, 'run']);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('rejectedIdentifier');
  });

  it('revokes its certificate (revokeCert signed by the account)', async () => {
    const path = join(dir, 'http');
    // lego archives the files of a revoked certificate: read it first.
    const pem = readFileSync(join(path, 'certificates', 'www.lego.test.crt'), 'utf8');
    const r = await lego(['--server', server.acme!.directoryUrl, '--accept-tos', '--email', 'http@lego.test', '--path', path, '--eab', '--kid', eabOf.get('http')!.kid, '--hmac', eabOf.get('http')!.hmacKey, '--domains', 'www.lego.test', 'revoke']);
    expect(r.code, r.out).toBe(0);
    const { x509 } = await import('../../src/x509/x509.ts');
    const serial = normalizeSerial(new x509.X509Certificate(pem).serialNumber);
    expect(ca.store.certificates.get(serial)?.status).toBe('revoked');
  });
});
