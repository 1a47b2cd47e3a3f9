import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createEstKey, silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { createTestCa } from '../helpers/ca.ts';
import { freePort } from '../helpers/ports.ts';

/** A CA behind the real listener (ACME + EST on 127.0.0.1), with root/intermediate PEM files for curl and openssl. */
export interface EstServer {
  ca: CaInstance;
  server: RunningServer;
  /** https://127.0.0.1:PORT */
  origin: string;
  rootFile: string;
  intermediateFile: string;
}

export function useEstServer(work: string, o: { config?: (ca: CaInstance) => void } = {}): EstServer {
  const t = {} as EstServer;
  beforeAll(async () => {
    const httpPort = await freePort();
    t.ca = await createTestCa({ baseUrl: `http://127.0.0.1:${httpPort}` });
    o.config?.(t.ca);
    t.server = await startServer(t.ca, { host: '127.0.0.1', port: httpPort, logger: silentLogger, acme: { port: 0, requireEab: false } });
    t.origin = t.server.acme!.directoryUrl.replace(/\/acme\/directory$/, '');
    t.rootFile = join(work, 'root.pem');
    t.intermediateFile = join(work, 'intermediate.pem');
    writeFileSync(t.rootFile, t.ca.root.toString('pem') + '\n');
    writeFileSync(t.intermediateFile, t.ca.intermediate.toString('pem') + '\n');
  });
  afterAll(async () => {
    await t.server?.close();
    await t.ca?.close();
  });
  return t;
}

export const enrollmentKey = (ca: CaInstance, scopes: string[], o: { maxUses?: number; lifetimeMs?: number } = {}) =>
  createEstKey({ dir: ca.dir, store: ca.store }, { label: 'devices', scopes, ...o });

/** A new P-256 key and the base64 DER CSR (RFC 7030 §4.2.1 body) openssl makes for it. */
export function opensslCsr(dir: string, name: string, o: { cn?: string; sans?: string; keyFile?: string } = {}): { keyFile: string; csrFile: string } {
  const keyFile = o.keyFile ?? join(dir, `${name}.key`);
  const derFile = join(dir, `${name}.csr.der`);
  const csrFile = join(dir, `${name}.csr.b64`);
  const keyArgs = o.keyFile ? ['-key', keyFile] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile];
  execFileSync('openssl', ['req', '-new', ...keyArgs, '-subj', `/CN=${o.cn ?? name}`, '-addext', `subjectAltName=${o.sans ?? `DNS:${name}`}`, '-outform', 'DER', '-out', derFile], { stdio: 'pipe' });
  writeFileSync(csrFile, execFileSync('openssl', ['base64', '-in', derFile]));
  return { keyFile, csrFile };
}

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const execFileAsync = promisify(execFile);

/** One request with curl (the EST client nobody here wrote), trusting only the test root; asynchronous, since the server runs in this process. */
export async function curl(t: EstServer, dir: string, path: string, args: string[] = []): Promise<CurlResult> {
  const out = join(dir, 'curl.body');
  const head = join(dir, 'curl.headers');
  writeFileSync(out, '');
  const r = await execFileAsync('curl', ['-sS', '--max-time', '20', '--cacert', t.rootFile, '-o', out, '-D', head, '-w', '%{http_code}', ...args, `${t.origin}${path}`], { encoding: 'utf8' });
  const headers: Record<string, string> = {};
  for (const line of readFileSync(head, 'utf8').split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(r.stdout), headers, body: readFileSync(out, 'utf8') };
}

/** POST a base64 CSR file as application/pkcs10 (RFC 7030 §4.2.1). */
export const postCsr = (t: EstServer, dir: string, op: string, csrFile: string, args: string[] = []) =>
  curl(t, dir, `/.well-known/est/${op}`, ['-H', 'Content-Type: application/pkcs10', '-H', 'Content-Transfer-Encoding: base64', '--data-binary', `@${csrFile}`, ...args]);

/** The certificates of a base64 certs-only PKCS#7 body, as PEM, through `openssl base64 -d | openssl pkcs7` (as docs/workloads.md shows). */
export function pkcs7Certs(dir: string, body: string): string {
  const der = join(dir, 'resp.p7');
  writeFileSync(der, execFileSync('openssl', ['base64', '-d'], { input: body }));
  return execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-in', der, '-print_certs'], { encoding: 'utf8' });
}

/** openssl verify of a certificate against the test root with the intermediate as untrusted. */
export function opensslVerify(t: EstServer, certFile: string): string {
  return execFileSync('openssl', ['verify', '-CAfile', t.rootFile, '-untrusted', t.intermediateFile, certFile], { encoding: 'utf8' });
}
