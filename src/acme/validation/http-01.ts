import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { connection, incorrectResponse, unauthorized } from '../problems.ts';
import { addressOf } from './resolve.ts';
import { NetworkValidator, type ValidationRequest } from './validator.ts';

const MAX_REDIRECTS = 10;
const MAX_BODY = 8 * 1024;

/**
 * http-01 (RFC 8555 §8.3): GET http://<name>:<port>/.well-known/acme-challenge/<token>;
 * follows at most 10 redirects (http or https, any certificate accepted, §8.3), reads at
 * most 8 KiB, gives up after the timeout, and compares the body (trailing whitespace
 * trimmed) with the key authorization.
 */
export class Http01Validator extends NetworkValidator {
  readonly type = 'http-01';
  async validate(r: ValidationRequest): Promise<void> {
    const host = r.identifier.type === 'ip' && isIP(r.identifier.value) === 6 ? `[${r.identifier.value}]` : r.identifier.value;
    let url = new URL(`http://${host}:${this.settings.http01Port}/.well-known/acme-challenge/${r.token}`);
    const deadline = Date.now() + this.settings.timeoutMs;
    for (let hop = 0; ; hop++) {
      const res = await this.#get(url, r, deadline);
      if (res.status >= 300 && res.status < 400 && res.location) {
        if (hop >= MAX_REDIRECTS) throw connection(`more than ${MAX_REDIRECTS} redirects fetching ${r.identifier.value}`);
        const next = new URL(res.location, url);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw connection(`redirect to unsupported scheme ${next.protocol}`);
        url = next;
        continue;
      }
      if (res.status !== 200) throw unauthorized(`http-01: ${url.href} answered HTTP ${res.status}`);
      if (res.body.replace(/\s+$/, '') !== r.keyAuthorization) throw incorrectResponse(`http-01: ${url.href} did not return the key authorization`);
      return;
    }
  }

  async #get(url: URL, r: ValidationRequest, deadline: number): Promise<{ status: number; location?: string; body: string }> {
    const bare = url.hostname.replace(/^\[|\]$/g, '');
    const address = await addressOf(isIP(bare) ? { type: 'ip', value: bare } : { type: 'dns', value: bare }, this.resolver, !this.settings.dnsServer);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw connection(`http-01: timed out fetching ${url.href}`);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: address,
          port: url.port || (url.protocol === 'https:' ? 443 : 80),
          path: url.pathname + url.search,
          method: 'GET',
          headers: { Host: url.host, 'User-Agent': 'pki-acme-validator', Accept: '*/*' },
          servername: isIP(bare) ? undefined : bare,
          rejectUnauthorized: false,
          timeout: remaining,
          agent: false,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) {
              req.destroy();
              reject(incorrectResponse(`http-01: response from ${url.href} exceeds ${MAX_BODY} bytes`));
            } else chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(connection(`http-01: ${url.href}: ${e.message}`)));
        },
      );
      req.setTimeout(remaining, () => req.destroy(new Error('timed out')));
      req.on('error', (e) => reject(connection(`http-01: cannot fetch ${url.href} (${r.identifier.value}): ${e.message}`)));
      req.end();
    });
  }
}
