import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../../src/x509/x509.ts';
import { pki, pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { runAsync } from '../helpers/run-async.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The TLS listener of a real `pki serve` resumes no session (src/http/acme-https/listener.ts
 * ACME_TLS): a client that kept a session (a TLS 1.3 ticket or a TLS 1.2 session id) still gets a
 * full handshake, so a renewal by the current certificate always proves possession of its key on
 * its own connection. Server and client each run in their own process, as in production: a TLS
 * client inside the test runner did not resume even against the old settings, so it could not tell.
 */
const work = tempDir();
const dir = join(work, 'ca');
const env = { PKI_PASSPHRASE: '' };
let serve: ReturnType<typeof pkiBackground>;
let origin: URL;
let rootPem = '';

beforeAll(async () => {
  const httpPort = await freePort();
  expect(pki(['init', '--dir', dir, '--url', `http://127.0.0.1:${httpPort}`], env).status).toBe(0);
  serve = pkiBackground(['serve', '--dir', dir, '--host', '127.0.0.1', '--http-port', String(httpPort), '--acme-port', '0'], /serve\.started/, env);
  origin = new URL((JSON.parse(await serve.started) as { acmeDirectory: string }).acmeDirectory);
  rootPem = readFileSync(join(dir, 'ca/root.pem'), 'utf8');
});

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A key pair (PEM) and a certificate the running CA issued for `name` (`pki issue`, as an operator would). */
async function workload(name: string): Promise<{ certFile: string; keyFile: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: '', keys, signingAlgorithm: ALG, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])] });
  writeFileSync(join(work, `${name}.csr`), csr.toString('pem'));
  const r = await pkiAsync(['issue', '--dir', dir, '--csr', join(work, `${name}.csr`), '--out', join(work, `${name}.pem`)], env);
  expect(r.status, r.stderr).toBe(0);
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  writeFileSync(join(work, `${name}.key`), `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64')}\n-----END PRIVATE KEY-----\n`);
  return { certFile: join(work, `${name}.pem`), keyFile: join(work, `${name}.key`) };
}

/**
 * A TLS client in its own Node process (as a workload is): two connections one after the other,
 * the second offering the session the first was handed; each sends GET cacerts and reads the answer
 * to the end (TLS 1.3 tickets come after the handshake). Prints what it saw as JSON.
 */
const CLIENT = `
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
const [port, version, caFile, certFile, keyFile] = process.argv.slice(2);
const pair = certFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : {};
const once = (session) => new Promise((resolve, reject) => {
  let offered, reused = false, answer = '';
  const s = connect({ host: '127.0.0.1', port: Number(port), ca: readFileSync(caFile), minVersion: version, maxVersion: version, ...pair, ...(session ? { session } : {}) }, () => {
    reused = s.isSessionReused();
    s.write('GET /.well-known/est/cacerts HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n');
  });
  s.on('session', (b) => (offered = b));
  s.on('data', (c) => (answer += c.toString('latin1')));
  s.on('error', reject);
  s.on('close', () => resolve({ reused, session: offered, status: answer.split('\\r\\n')[0] }));
});
const first = await once();
const again = first.session ? await once(first.session) : null;
console.log(JSON.stringify({ first: { reused: first.reused, status: first.status, session: Boolean(first.session) }, again: again && { reused: again.reused, status: again.status } }));
`;

interface Seen {
  first: { reused: boolean; status: string; session: boolean };
  again: { reused: boolean; status: string } | null;
}

async function twoConnections(version: SecureVersion, w: { certFile: string; keyFile: string } | null): Promise<Seen> {
  const script = join(work, 'tls-client.mjs');
  writeFileSync(script, CLIENT);
  writeFileSync(join(work, 'root.pem'), rootPem);
  const r = await runAsync(process.execPath, [script, origin.port, version, join(work, 'root.pem'), ...(w ? [w.certFile, w.keyFile] : [])]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Seen;
}

describe('the TLS listener resumes no session', () => {
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    for (const withCertificate of [true, false]) {
      it(`ok/${version} ${withCertificate ? 'with' : 'without'} a client certificate: a client offering its earlier session gets a full handshake`, async () => {
        const w = withCertificate ? await workload(`resume-${version.slice(-1)}.devices.test`) : null;
        const seen = await twoConnections(version, w);
        expect(seen.first).toEqual({ reused: false, status: 'HTTP/1.1 200 OK', session: true });
        // OpenSSL still hands out a session (stateful TLS 1.3 tickets it keeps nowhere); offered back, it must not resume.
        expect(seen.again).toEqual({ reused: false, status: 'HTTP/1.1 200 OK' });
      });
    }
  }
});
