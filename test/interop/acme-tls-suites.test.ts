import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { createTestCa } from '../helpers/ca.ts';
import { hasTool } from '../helpers/tools.ts';

/** The ACME listener's TLS offer, as OpenSSL's client sees it: AEAD suites only (RFC 9325 §4.2). */
const openssl = hasTool('openssl');
let ca: CaInstance;
let server: RunningServer;
let port: string;
beforeAll(async () => {
  ca = await createTestCa();
  server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger });
  port = new URL(server.acme!.directoryUrl).port;
});
afterAll(async () => {
  await server?.close();
  await ca?.close();
});

/** One handshake with `openssl s_client`; resolves with the negotiated protocol and cipher, or null when refused. */
async function handshake(args: string[]): Promise<{ protocol: string; cipher: string } | null> {
  // s_client blocks: run it off this process's event loop, which serves the handshake.
  const r = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end('Q\n');
    child.on('close', (status: number | null) => resolve({ status, stdout }));
  });
  const m = /Protocol\s*:\s*(\S+)[\s\S]*?Cipher\s*:\s*(\S+)/.exec(r.stdout) ?? /New, (\S+), Cipher is (\S+)/.exec(r.stdout);
  if (r.status !== 0 || !m || m[2] === '0000' || m[2] === '(NONE)') return null;
  return { protocol: m[1]!, cipher: m[2]! };
}

describe.skipIf(!openssl)('ACME listener TLS suites (openssl s_client)', () => { // skips only locally: hasTool() throws when CI is set
  it('fail/TLS 1.2 CBC-SHA suites are refused', async () => {
    for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'AES128-SHA', 'AES128-GCM-SHA256']) {
      expect(await handshake(['-tls1_2', '-cipher', cipher]), cipher).toBeNull();
    }
  });

  it('ok/TLS 1.2 ECDHE AEAD suites and TLS 1.3 are accepted; TLS 1.1 is not', async () => {
    for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
      expect(await handshake(['-tls1_2', '-cipher', cipher]), cipher).toMatchObject({ cipher });
    }
    expect(await handshake(['-tls1_3'])).toMatchObject({ cipher: expect.stringMatching(/^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)$/) });
    expect(await handshake(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'])).toBeNull();
  });
});


