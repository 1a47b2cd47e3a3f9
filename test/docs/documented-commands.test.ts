import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEab, silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { startDnsServer, type TestDnsServer } from '../acme/support/dns-server.ts';
import { createTestCa } from '../helpers/ca.ts';
import { PKI_BIN } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { hasTool } from '../helpers/tools.ts';

/**
 * The docs' commands, run as written. Every fenced block whose info string is `sh test` in
 * README.md and docs/workloads.md runs, in document order, under `bash -eu` against a
 * throwaway CA on loopback; only hosts, ports, paths and the secrets a reader would paste
 * (key ids, HMAC keys, the root fingerprint) are substituted, each listed below. A block
 * that fails fails the test, so the docs cannot drift from what works.
 */
const DOCS = ['README.md', 'docs/workloads.md'];
const ROOT = join(dirname(PKI_BIN), '..');

/** The marked blocks of a Markdown file, in order. */
function testedBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh test\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const blocks = DOCS.flatMap((file) => testedBlocks(readFileSync(join(ROOT, file), 'utf8')).map((body, i) => ({ file, i, body })));
const tools = hasTool('openssl') && hasTool('lego', ['--version']);

describe.skipIf(!tools)('the documented commands work as written', () => { // skips only locally: hasTool() throws when CI is set
  let ca: CaInstance;
  let server: RunningServer;
  let dns: TestDnsServer;
  let cwd: string;
  let http01Port: number;
  let tlsPort: number;
  beforeAll(async () => {
    const httpPort = await freePort();
    ca = await createTestCa({ baseUrl: `http://127.0.0.1:${httpPort}` });
    // The instance is ./ca seen from here, as in the README.
    cwd = dirname(ca.dir);
    http01Port = await freePort();
    tlsPort = await freePort();
    dns = await startDnsServer();
    server = await startServer(ca, { host: '127.0.0.1', port: httpPort, logger: silentLogger, acme: { port: 0, requireEab: true, http01Port, dnsServer: dns.address } });
  });
  afterAll(async () => {
    await server?.close();
    await dns?.close();
    await ca?.close();
  });

  it('ok/the docs mark their runnable blocks (README: lego and enroll; workloads: enroll, walkthrough, mTLS)', () => {
    expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(2);
    expect(blocks.filter((b) => b.file === 'docs/workloads.md').length).toBeGreaterThanOrEqual(3);
  });

  for (const block of blocks) {
    it(`ok/${block.file} block ${block.i + 1}: ${block.body.split('\n')[0]!.slice(0, 60)}`, async () => {
      // A fresh EAB key for each machine the block plays: a key binds one account.
      const scopes = ['dns:*.payments.internal', 'ip:10.1.0.0/16', 'uri:spiffe://corp/payments/*'];
      const key = async (file: string) => {
        const k = await createEab(ca, { label: 'docs', scopes });
        mkdirSync(dirname(join(cwd, file)), { recursive: true });
        writeFileSync(join(cwd, file), k.hmacKey + '\n');
        return k;
      };
      // Each doc is its own set of machines: one doc's /etc/pki/api is not another's.
      const etc = `${block.file.replace(/\W+/g, '-')}/etc/pki`;
      const one = await key('eab.key');
      mkdirSync(join(cwd, etc), { recursive: true });
      writeFileSync(join(cwd, etc, 'eab.key'), one.hmacKey + '\n');
      const api = await key('api-eab.key');
      const worker = await key('worker-eab.key');
      const directory = server.acme!.directoryUrl;
      const fp = new X509Certificate(ca.root.toString('pem')).fingerprint256;
      const s = await freePort();
      const substitutions: [string, string][] = [
        ['https://ca.internal:9443/acme/directory', directory],
        ['https://127.0.0.1:9443/acme/directory', directory],
        ['https://ca.internal:9443/.well-known/est', directory.replace(/\/acme\/directory$/, '/.well-known/est')],
        ['https://ca.internal:9443/oauth/token', directory.replace('/acme/directory', '/oauth/token')],
        ['--kid KID --hmac KEY', `--kid ${one.kid} --hmac ${one.hmacKey}`],
        ['--eab-kid KID', `--eab-kid ${one.kid}`],
        ['<from pki init>', fp],
        ['/etc/pki/', `${cwd}/${etc}/`],
        // The CA validates http-01 on this test's port, not 80.
        ['--http run', `--http --http.port 127.0.0.1:${http01Port} run`],
        ['pki enroll ', `pki enroll --http-port ${http01Port} --tls-port ${tlsPort} `],
        ['-accept 8443', `-accept ${s}`],
        ['api.payments.internal:8443', `127.0.0.1:${s}`],
      ];
      let script = block.body;
      for (const [from, to] of substitutions) script = script.replaceAll(from, to);
      const env = { ...process.env, PKI_BIN, ROOT_FP: fp, KID: one.kid, API_KID: api.kid, WORKER_KID: worker.kid };
      // No terminal: a command that would prompt (lego's terms of service) fails at once instead.
      const prelude = 'exec </dev/null\npki() { node "$PKI_BIN" "$@"; }\nnpx() { "$@"; }\n';
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile('bash', ['-euo', 'pipefail', '-c', prelude + script], { cwd, env, timeout: 50_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: `${stdout}\n${stderr}` });
        });
      });
      expect(r.code, `${block.file} block ${block.i + 1} failed:\n${script}\n--- output ---\n${r.out}`).toBe(0);
    }, 60_000);
  }
});
