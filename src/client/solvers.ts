import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';
import acme from 'acme-client';
import { CaError } from '../domain/errors.ts';
import { challengeServerName } from './sni.ts';

const execFileAsync = promisify(execFile);

/** One authorization's challenge, as a solver needs it. */
export interface ChallengeTask {
  identifier: { type: string; value: string };
  token: string;
  /** RFC 8555 §8.1: token "." base64url(JWK thumbprint), for every type; each solver derives its answer from it. */
  keyAuthorization: string;
  /** acme-client's authorization object (tls-alpn-01 builds its certificate from it). */
  authz: acme.Authorization;
}

/** Makes a challenge answerable, then cleans up. One implementation per way of answering. */
export interface ChallengeSolver {
  readonly type: 'http-01' | 'tls-alpn-01' | 'dns-01' | 'tkauth-01';
  present(task: ChallengeTask): Promise<void>;
  cleanup(task: ChallengeTask): Promise<void>;
  close(): Promise<void>;
  /** The challenge response payload when it is not `{}` (tkauth-01's `{"atc": token}`, token-solver.ts). */
  response?(task: ChallengeTask): Promise<Record<string, unknown>>;
}

function listen(server: Server | TlsServer, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new CaError('unavailable', `cannot listen on port ${port} for ${what}: ${e.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges; use --http-port or --webroot)' : e.message}`)),
    );
    server.listen(port, resolve);
  });
}

/** RFC 8555 §8.3: answers GET /.well-known/acme-challenge/<token> from a short-lived built-in server. */
export function standaloneHttp01(port: number): ChallengeSolver {
  const answers = new Map<string, string>();
  let server: Server | null = null;
  return {
    type: 'http-01',
    async present(t) {
      answers.set(t.token, t.keyAuthorization);
      if (!server) {
        server = createHttpServer((req, res) => {
          const token = req.url?.match(/^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/)?.[1];
          const answer = token ? answers.get(token) : undefined;
          res.writeHead(answer ? 200 : 404, { 'Content-Type': 'text/plain' }).end(answer ?? 'not found');
        });
        await listen(server, port, 'the http-01 challenge');
      }
    },
    async cleanup(t) {
      answers.delete(t.token);
    },
    async close() {
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = null;
    },
  };
}

/** http-01 through a web server already running on the machine: writes the token file under its document root. */
export function webrootHttp01(webroot: string): ChallengeSolver {
  const dir = join(webroot, '.well-known', 'acme-challenge');
  return {
    type: 'http-01',
    async present(t) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, t.token), t.keyAuthorization, { mode: 0o644 });
    },
    async cleanup(t) {
      await rm(join(dir, t.token), { force: true });
    },
    async close() {},
  };
}

/**
 * RFC 8737: a TLS server offering ALPN acme-tls/1 with a self-signed certificate carrying the
 * acmeIdentifier extension, one per identifier, chosen by the SNI the validator sends.
 */
export function standaloneTlsAlpn01(port: number): ChallengeSolver {
  const contexts = new Map<string, ReturnType<typeof createSecureContext>>();
  let server: TlsServer | null = null;
  return {
    type: 'tls-alpn-01',
    async present(t) {
      const [key, cert] = await acme.crypto.createAlpnCertificate(t.authz, t.keyAuthorization);
      contexts.set(challengeServerName(t.identifier), createSecureContext({ key, cert }));
      if (!server) {
        // A name we hold no certificate for gets none: a wrong identifier's certificate
        // would only turn into a confusing incorrectResponse on the server.
        server = createTlsServer({
          ALPNProtocols: ['acme-tls/1'],
          SNICallback: (name, cb) => {
            const context = contexts.get(name.toLowerCase());
            if (context) cb(null, context);
            else cb(new Error(`no tls-alpn-01 challenge for ${name}`), undefined);
          },
        });
        server.on('tlsClientError', () => {});
        await listen(server, port, 'the tls-alpn-01 challenge');
      }
    },
    async cleanup(t) {
      contexts.delete(challengeServerName(t.identifier));
    },
    async close() {
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = null;
    },
  };
}

/**
 * dns-01 through an operator's hook: `CMD add|remove <record name> <TXT value>`,
 * also given as PKI_DNS_ACTION, PKI_DNS_NAME, PKI_DNS_VALUE. The hook returns once the record is published.
 */
export function dnsHook01(command: string): ChallengeSolver {
  const run = async (action: 'add' | 'remove', t: ChallengeTask) => {
    const name = `_acme-challenge.${t.identifier.value.replace(/^\*\./, '')}`;
    // RFC 8555 §8.4: the TXT value is base64url(SHA-256(key authorization)).
    const value = createHash('sha256').update(t.keyAuthorization).digest('base64url');
    try {
      await execFileAsync('/bin/sh', ['-c', `${command} "$@"`, 'dns-hook', action, name, value], {
        env: { ...process.env, PKI_DNS_ACTION: action, PKI_DNS_NAME: name, PKI_DNS_VALUE: value },
        timeout: 120_000,
      });
    } catch (e) {
      throw new CaError('unavailable', `the DNS hook failed to ${action} ${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  return {
    type: 'dns-01',
    present: (t) => run('add', t),
    cleanup: (t) => run('remove', t).catch(() => {}),
    async close() {},
  };
}
