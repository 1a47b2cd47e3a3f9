import acme from 'acme-client';
import { request, Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initInstance } from '../../src/index.ts';
import { startChallengeServer } from '../acme/support/challenge-server.ts';
import { newAccountKey, signJws } from '../acme/support/client.ts';
import { startDnsServer, type TestDnsServer } from '../acme/support/dns-server.ts';
import { expectVerifies, sansOf } from '../acme/support/verify.ts';
import { TEST_PASSPHRASE } from '../helpers/ca.ts';
import { pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { hasTool } from '../helpers/tools.ts';
import { tempDir } from '../helpers/tmp.ts';
import { autoHttp01 } from '../helpers/acme-client-auto.ts';

/**
 * The real `pki serve` process: it prints the HTTPS directory URL, enrolls an
 * acme-client workload holding a key from `pki eab create`, and a nonce it
 * issued before a restart is still accepted (once) after it.
 */
const haveOpenssl = hasTool('openssl', ['version']);
const dir = join(tempDir(), 'ca');
const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };
let dns: TestDnsServer;
let web: Awaited<ReturnType<typeof startChallengeServer>>;
let acmePort: number;
let rootPem: string;

function serve() {
  const p = pkiBackground(['serve', '--dir', dir, '--http-port', '0', '--acme-port', String(acmePort), '--http01-port', String(web.port), '--dns-server', dns.address], /serve\.started/, env);
  return {
    ...p,
    directory: p.started.then((line) => (JSON.parse(line) as { acmeDirectory: string }).acmeDirectory),
    stop: async () => {
      p.child.kill('SIGTERM');
      await p.exited;
    },
  };
}

/** A request over HTTPS trusting only our root. */
function https(url: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', ca: rootPem, headers: init.body ? { 'Content-Type': 'application/jose+json' } : {} }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

beforeAll(async () => {
  await initInstance({ dir, passphrase: TEST_PASSPHRASE });
  rootPem = (await import('node:fs')).readFileSync(join(dir, 'ca/root.pem'), 'utf8');
  dns = await startDnsServer();
  web = await startChallengeServer();
  acmePort = await freePort();
});
afterAll(async () => {
  await web?.close();
  await dns?.close();
});

describe.skipIf(!haveOpenssl)('pki serve (ACME over HTTPS)', () => { // skips only locally: hasTool() throws when CI is set
  it('prints the directory URL, enrolls a workload with an EAB key from `pki eab create`, and lists the binding', async () => {
    const created = await pkiAsync(['eab', 'create', '--dir', dir, '--label', 'web', '--allow', 'dns:*.serve.test', '--json'], env);
    expect(created.status, created.stderr).toBe(0);
    const eab = JSON.parse(created.stdout) as { kid: string; hmacKey: string };
    expect(eab.hmacKey).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const server = serve();
    try {
      const directoryUrl = await server.directory;
      expect(directoryUrl).toBe(`https://127.0.0.1:${acmePort}/acme/directory`);
      await expect.poll(() => server.output().stderr).toContain(`ACME directory: ${directoryUrl}`);
      const client = new acme.Client({ directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), externalAccountBinding: eab });
      acme.axios.defaults.httpsAgent = new Agent({ ca: rootPem });
      const [, csr] = await acme.crypto.createCsr({ altNames: ['app.serve.test'] }, await acme.crypto.createPrivateEcdsaKey());
      const chain = await autoHttp01(client, csr, web);
      expect(sansOf(expectVerifies(join(dir, '..'), rootPem, chain))).toEqual(['dns:app.serve.test']);
    } finally {
      await server.stop();
    }
    const listed = JSON.parse((await pkiAsync(['eab', 'list', '--dir', dir, '--json'], env)).stdout) as { kid: string; account: string | null; status: string }[];
    expect(listed.find((k) => k.kid === eab.kid)).toMatchObject({ status: 'active', account: expect.any(String) });
    expect((await pkiAsync(['eab', 'revoke', '--dir', dir, eab.kid], env)).status).toBe(0);
    expect((await pkiAsync(['eab', 'revoke', '--dir', dir, eab.kid], env)).status).toBe(1);
  });

  it('accepts a nonce issued before a restart, once', async () => {
    let server = serve();
    const directoryUrl = await server.directory;
    const newNonce = `https://127.0.0.1:${acmePort}/acme/new-nonce`;
    const nonce = (await https(newNonce, { method: 'HEAD' })).headers['replay-nonce'] as string;
    await server.stop();

    server = serve();
    try {
      expect(await server.directory).toBe(directoryUrl);
      const key = await newAccountKey();
      const url = `https://127.0.0.1:${acmePort}/acme/new-account`;
      const body = JSON.stringify(await signJws(url, { onlyReturnExisting: true }, { key, nonce }));
      const first = await https(url, { method: 'POST', body });
      // Not badNonce: the nonce was good; the account simply does not exist.
      expect(JSON.parse(first.body).type).toBe('urn:ietf:params:acme:error:accountDoesNotExist');
      const again = await https(url, { method: 'POST', body });
      expect(JSON.parse(again.body).type).toBe('urn:ietf:params:acme:error:badNonce');
    } finally {
      await server.stop();
    }
  });

  it('pki init writes acme.requireEab: on by default, off with --no-require-eab (quick-start)', async () => {
    const { readFileSync } = await import('node:fs');
    const base = tempDir();
    expect((await pkiAsync(['init', '--dir', join(base, 'strict')], env)).status).toBe(0);
    expect((await pkiAsync(['init', '--dir', join(base, 'quick'), '--no-require-eab'], env)).status).toBe(0);
    const acmeOf = (d: string) => (JSON.parse(readFileSync(join(base, d, 'pki.json'), 'utf8')) as { acme: { requireEab: boolean; port: number } }).acme;
    expect(acmeOf('strict')).toMatchObject({ requireEab: true, port: 9443 });
    expect(acmeOf('quick').requireEab).toBe(false);
  });
});
