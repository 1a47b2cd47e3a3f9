import type { Resolver } from 'node:dns/promises';
import { dnsProblem, incorrectResponse, unauthorized } from '../problems.ts';
import { keyAuthorizationDigest, type ValidationRequest, type Validator } from './validator.ts';

/** dns-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.<name> holding base64url(SHA-256(key authorization)). */
export class Dns01Validator implements Validator {
  readonly type = 'dns-01';
  readonly #resolver: Resolver;

  constructor(resolver: Resolver) {
    this.#resolver = resolver;
  }

  async validate(r: ValidationRequest): Promise<void> {
    if (r.identifier.type !== 'dns') throw unauthorized('dns-01 applies to DNS names only');
    const name = `_acme-challenge.${r.identifier.value.replace(/^\*\./, '')}`;
    let records: string[][];
    try {
      records = await this.#resolver.resolveTxt(name);
    } catch (e) {
      throw dnsProblem(`dns-01: no TXT record at ${name} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const want = keyAuthorizationDigest(r.keyAuthorization).toString('base64url');
    if (!records.some((chunks) => chunks.join('') === want)) throw incorrectResponse(`dns-01: no TXT record at ${name} matches the key authorization`);
  }
}
