import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OcspHttpHandler } from '../../src/http/ocsp/handler.ts';
import { withOcspFastPath } from '../../src/http/ocsp/listener.ts';
import { silentLogger, type CaInstance } from '../../src/index.ts';
import { startStatusService } from '../../src/instance/start-status.ts';
import type { StatusService } from '../../src/status/status-service.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { ocspRequestDer } from '../helpers/ocsp-request.ts';
import { hasTool } from '../helpers/tools.ts';
import { runAsync } from '../helpers/run-async.ts';

const HAVE_CURL = hasTool('curl', ['--version']);

/** The node:http OCSP fast path, fed over raw TCP: the whole request in one packet, or trickled in pieces. */
describe('OCSP fast path (node:http listener)', () => {
  let ca: CaInstance;
  let status: StatusService;
  let server: Server;
  let port: number;
  let der: Uint8Array;

  beforeAll(async () => {
    ca = await createTestCa();
    status = await startStatusService(ca, silentLogger);
    const handler = new OcspHttpHandler({ responder: status.responderLogic, cache: status.cache, clock: ca.clock });
    server = createServer(withOcspFastPath(handler, (_req, res) => res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    const serial = (await ca.authority.issue((await makeCsr({ cn: 'l.example', sans: [{ type: 'dns', value: 'l.example' }] })).pem)).serial;
    der = ocspRequestDer(new Uint8Array(ca.intermediate.rawData), [serial]);
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    status?.stop();
    await ca?.close();
  });

  /** Sends `parts` on one connection (with `gapMs` between them) and returns each HTTP response's status and body. */
  function exchange(parts: Buffer[], responses: number, gapMs = 0): Promise<{ status: number; body: Buffer }[]> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      const out: { status: number; body: Buffer }[] = [];
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.subarray(0, end).toString('latin1');
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < end + 4 + length) return;
          out.push({ status: Number(head.split(' ')[1]), body: buf.subarray(end + 4, end + 4 + length) });
          buf = buf.subarray(end + 4 + length);
          if (out.length === responses) {
            socket.destroy();
            return resolve(out);
          }
        }
      });
      socket.on('error', reject);
      socket.on('close', () => out.length < responses && resolve(out));
      void (async () => {
        for (const p of parts) {
          socket.write(p);
          if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        }
      })();
    });
  }
  const post = (body: Uint8Array, contentLength = body.length) =>
    Buffer.from(`POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: ${contentLength}\r\n\r\n`, 'latin1');
  const statusOf = (body: Buffer) => AsnConvert.parse(body, ocsp.OCSPResponse).responseStatus;

  it('ok/a POST in one packet and one trickled in three pieces get the same answer; keep-alive serves both on one connection', async () => {
    const whole = Buffer.concat([post(der), Buffer.from(der)]);
    const [a] = await exchange([whole], 1);
    const [b] = await exchange([post(der), Buffer.from(der.subarray(0, 10)), Buffer.from(der.subarray(10))], 1, 30);
    expect(a!.status).toBe(200);
    expect(statusOf(a!.body)).toBe(ocsp.OCSPResponseStatus.successful);
    expect(b!.body.equals(a!.body)).toBe(true);
    const two = await exchange([whole, whole], 2);
    expect(two.map((r) => r.body.equals(a!.body))).toEqual([true, true]);
  });

  it('ok/a first request for a stored response is answered in the same turn (no promise, read from the database); one that needs signing is not', async () => {
    const handler = new OcspHttpHandler({ responder: status.responderLogic, cache: status.cache, clock: ca.clock });
    const serial = (await ca.authority.issue((await makeCsr({ cn: 'sync.example', sans: [{ type: 'dns', value: 'sync.example' }] })).pem)).serial;
    status.cache.invalidate(serial); // not in memory: the answer comes from the stored row
    const path = (d: Uint8Array) => encodeURIComponent(Buffer.from(d).toString('base64'));
    const stored = handler.get(path(ocspRequestDer(new Uint8Array(ca.intermediate.rawData), [serial])));
    expect(stored).not.toBeInstanceOf(Promise);
    expect((stored as { body: Buffer }).body.equals(Buffer.from(ca.store.ocspResponses.get(serial)!.der))).toBe(true);
    // Never issued: an "unknown" is signed now, so the answer is a promise (and still a successful OCSP response).
    const unknown = handler.get(path(ocspRequestDer(new Uint8Array(ca.intermediate.rawData), ['7f' + '0'.repeat(30)])));
    expect(unknown).toBeInstanceOf(Promise);
    expect(statusOf((await unknown).body)).toBe(ocsp.OCSPResponseStatus.successful);
  });

  it('fail/a store that throws while a request is answered in the same turn gets 503, and the listener serves the next request', async () => {
    const get = (path: string) => Buffer.from(`GET /ocsp/${path} HTTP/1.1\r\nHost: x\r\n\r\n`, 'latin1');
    const path = encodeURIComponent(Buffer.from(der).toString('base64'));
    const spy = vi.spyOn(status.cache, 'forRequest').mockImplementation(() => {
      throw new Error('disk I/O error');
    });
    try {
      const [broken] = await exchange([get(path)], 1);
      expect(broken!.status).toBe(503);
      const [brokenPost] = await exchange([Buffer.concat([post(der), Buffer.from(der)])], 1);
      expect(brokenPost!.status).toBe(503);
    } finally {
      spy.mockRestore();
    }
    const [ok] = await exchange([get(path)], 1);
    expect(ok!.status).toBe(200);
    expect(statusOf(ok!.body)).toBe(ocsp.OCSPResponseStatus.successful);
  });

  it('fail/garbage, an empty body and an oversized one are malformedRequest (HTTP 200, RFC 6960), never a 5xx', async () => {
    const garbage = Buffer.from('not an ocsp request at all');
    const big = Buffer.alloc(20_000, 0x30);
    const [g] = await exchange([Buffer.concat([post(garbage), garbage])], 1);
    const [e] = await exchange([post(new Uint8Array(0))], 1);
    const [o] = await exchange([post(big), big.subarray(0, 5000), big.subarray(5000)], 1, 10);
    for (const r of [g!, e!, o!]) {
      expect(r.status).toBe(200);
      expect(statusOf(r.body)).toBe(ocsp.OCSPResponseStatus.malformedRequest);
    }
  });

  it('regression/a body far over the limit (declared or chunked, up to 20 MB) gets malformedRequest, never a reset, and the connection then serves the next request', async () => {
    for (const size of [100_000, 1 << 20, 20 << 20]) {
      const big = Buffer.alloc(size, 0x30);
      const chunked = Buffer.concat([Buffer.from(`POST /ocsp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')]);
      for (const head of [Buffer.concat([post(big), big]), chunked]) {
        const [tooLarge, next] = await exchange([head, Buffer.concat([post(der), Buffer.from(der)])], 2);
        expect(statusOf(tooLarge!.body)).toBe(ocsp.OCSPResponseStatus.malformedRequest);
        expect(statusOf(next!.body)).toBe(ocsp.OCSPResponseStatus.successful);
      }
    }
  });

  it('regression/node:http and curl clients sending 20 MB get an HTTP answer (no ECONNRESET)', async () => {
    const res = await new Promise<number | string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/ocsp', method: 'POST', agent: false, headers: { 'Content-Length': String(20 << 20) } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode!));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end(Buffer.alloc(20 << 20, 0x30));
    });
    expect(res).toBe(200);
    if (HAVE_CURL) {
      const r = await runAsync('sh', ['-c', `head -c ${20 << 20} /dev/zero | curl -sS -o /dev/null -w '%{http_code}' --data-binary @- -H 'Content-Type: application/ocsp-request' http://127.0.0.1:${port}/ocsp`]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('200');
    }
  });

  it('fail/a client that sends half a body and disconnects does not take the listener down', async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(Buffer.concat([post(der, der.length + 50), Buffer.from(der.subarray(0, 20))]));
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, i * 2);
        });
      });
    }
    const [r] = await exchange([Buffer.concat([post(der), Buffer.from(der)])], 1);
    expect(statusOf(r!.body)).toBe(ocsp.OCSPResponseStatus.successful);
  });
});
