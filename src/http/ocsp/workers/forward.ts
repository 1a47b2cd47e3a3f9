import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { PassOn } from '../listener.ts';

/** Hop-by-hop headers (RFC 9110 §7.6.1): each side of the relay sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding']);

/**
 * Relays a request to the primary's internal listener (loopback) and its answer back
 * unchanged: status, headers (less hop-by-hop ones) and body. `body` is a POST body the
 * OCSP fast path already read; otherwise the request streams through.
 */
export function forwardTo(port: number): PassOn {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    if (body) headers['content-length'] = String(body.length);
    const up = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent }, (answer) => {
      const raw: string[] = [];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        const name = answer.rawHeaders[i]!;
        if (!HOP_BY_HOP.has(name.toLowerCase())) raw.push(name, answer.rawHeaders[i + 1]!);
      }
      res.writeHead(answer.statusCode ?? 502, raw);
      // pipeline, not pipe: an answer cut off midway (the primary stopped) cuts the client's
      // connection too, so the client sees the failure at once instead of waiting on a body that never ends.
      pipeline(answer, res, (e) => e && res.destroy());
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end();
    });
    if (body) up.end(body);
    else if (req.readableEnded) up.end(); // a GET that waited on the handler: nothing left to stream
    else pipeline(req, up, (e) => e && up.destroy());
  };
}
