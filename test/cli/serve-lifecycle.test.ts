import Database from 'better-sqlite3';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pki, pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const PASS = { PKI_PASSPHRASE: 'serve-lifecycle-test' };
const dir = join(tempDir(), 'ca');
const init = pki(['init', '--dir', dir], PASS);

function certificateRows(): number {
  const db = new Database(join(dir, 'pki.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM certificates').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** Whether a TCP connection to the port is accepted (false: refused). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Everything a socket receives until it closes. */
function received(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', () => undefined);
    s.once('close', () => resolve(text));
  });
}

describe('pki serve: a failed start signs nothing', () => {
  it('fail/a busy plain-HTTP or ACME port, or a damaged ACME key: exit 1 naming it, and no certificate row', async () => {
    expect(init.status, init.stderr).toBe(0);
    const before = certificateRows();
    for (const which of ['http', 'acme'] as const) {
      const [busy, free] = [await freePort(), await freePort()];
      const blocker = await occupy(busy);
      try {
        const ports = which === 'http' ? ['--http-port', String(busy), '--acme-port', String(free)] : ['--http-port', String(free), '--acme-port', String(busy)];
        const r = await pkiAsync(['serve', '--dir', dir, ...ports], PASS);
        expect(r.status, r.stderr).toBe(1);
        const what = which === 'http' ? 'plain HTTP' : 'ACME';
        expect(r.stderr).toContain(`pki: cannot listen on 127.0.0.1:${busy} (${what}): EADDRINUSE`);
      } finally {
        blocker.close();
      }
      expect(certificateRows(), which).toBe(before);
    }
    // Anything else that can fail the start is checked before signing too: here a damaged ACME secret key.
    const key = join(dir, 'secrets/acme.key');
    const saved = existsSync(key) ? readFileSync(key) : null;
    writeFileSync(key, '');
    try {
      const r = await pkiAsync(['serve', '--dir', dir, '--http-port', '0'], PASS);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^pki: the ACME secret key .*acme\.key holds 0 bytes/m);
    } finally {
      if (saved) writeFileSync(key, saved);
      else rmSync(key);
    }
    expect(certificateRows()).toBe(before);
  }, 60_000);
});

describe('pki serve: SIGTERM', () => {
  it('ok/new connections refused at once, requests under way finish, exit 0', async () => {
    const srv = pkiBackground(['serve', '--dir', dir, '--http-port', '0'], /serve\.started/, PASS);
    const started = JSON.parse(await srv.started) as { http: string; acmeDirectory: string };
    const httpPort = Number(new URL(started.http).port);
    const acmePort = Number(new URL(started.acmeDirectory).port);
    try {
      // A request under way on the ACME listener: headers and half its body sent.
      const body = JSON.stringify({ protected: 'e30', payload: '', signature: 'AA' });
      const slow = tlsConnect({ host: '127.0.0.1', port: acmePort, rejectUnauthorized: false, servername: 'localhost' });
      await new Promise((r) => slow.once('secureConnect', r));
      const slowAnswer = received(slow);
      slow.write(`POST /acme/new-account HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/jose+json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      // An idle keep-alive connection, one request already answered on it.
      const idle = tlsConnect({ host: '127.0.0.1', port: acmePort, rejectUnauthorized: false, servername: 'localhost' });
      const idleAnswer = received(idle);
      idle.write('HEAD /acme/new-nonce HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await new Promise((r) => idle.once('data', r));
      await new Promise((r) => setTimeout(r, 200));

      const t0 = Date.now();
      srv.child.kill('SIGTERM');
      // serve.stopping is logged in the same turn of the event loop that closes every socket.
      for (let i = 0; i < 100 && !srv.output().stdout.includes('serve.stopping'); i++) await new Promise((r) => setTimeout(r, 50));
      // While the ACME request is still under way, neither port takes a new connection.
      expect(await accepts(httpPort)).toBe(false);
      expect(await accepts(acmePort)).toBe(false);
      // A new request on the connection that was idle is not served (closed, or 503).
      if (!idle.destroyed) idle.write('HEAD /acme/new-nonce HTTP/1.1\r\nHost: localhost\r\n\r\n');
      const second = (await idleAnswer).split('HTTP/1.1 ').slice(2);
      expect(second.every((a) => a.startsWith('503'))).toBe(true);
      expect(srv.child.exitCode).toBeNull();

      // The request under way finishes and is answered (a problem document: the JWS is junk).
      slow.write(body.slice(10));
      const answer = await slowAnswer;
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('application/problem+json');
      expect(await srv.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8_000);
    } finally {
      if (srv.child.exitCode === null) srv.child.kill('SIGKILL');
    }
    const events = srv.output().stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
    // The request that finished is logged between the two.
    expect(events.slice(events.indexOf('serve.stopping'))).toEqual(['serve.stopping', 'http.request', 'serve.stopped']);
  }, 60_000);
});
