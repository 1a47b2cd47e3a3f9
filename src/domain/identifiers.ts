import { dnsNameError } from './dns-name.ts';
import { CaError } from './errors.ts';
import { checkIpText } from './ip.ts';
import type { Identifier } from './types.ts';
import { uriError } from './uri.ts';

/**
 * The one gate every identifier passes wherever it enters (ACME newOrder, CSR SANs and CN, EAB
 * scopes, the CLI): it must already be in its one canonical form (dns-name.ts, ip.ts, uri.ts),
 * and comes back unchanged. Nothing is normalised: an identifier that would need rewriting is
 * refused, so scopes, the order and the certificate all see the very text that was checked.
 * Throws CaError('rejectedIdentifier') saying why.
 */
export function checkIdentifier(id: Identifier): Identifier {
  const why = identifierError(id);
  if (why) throw new CaError('rejectedIdentifier', why);
  return { type: id.type, value: id.value };
}

/** Why `id` is not a canonical identifier, or null. */
export function identifierError(id: Identifier): string | null {
  if (typeof id.value !== 'string') return 'an identifier value must be a string';
  switch (id.type) {
    case 'dns': {
      const why = dnsNameError(id.value);
      return why ? `not a valid DNS name: ${why}` : null;
    }
    case 'ip': {
      const ip = checkIpText(id.value);
      return 'error' in ip ? ip.error : null;
    }
    case 'uri': {
      const why = uriError(id.value);
      return why ? `not a valid URI: ${why}` : null;
    }
    default:
      return `unknown identifier type "${String((id as { type: unknown }).type)}"`;
  }
}

/**
 * Parses `dns:a.example`, `ip:10.0.0.1`, `uri:spiffe://…` through the gate; a bare name is an IP
 * when it has a ":" or only digits and dots (so a malformed address is refused as one), else DNS.
 */
export function parseIdentifier(text: string): Identifier {
  const m = /^(dns|ip|uri):(.+)$/.exec(text);
  if (m) return checkIdentifier({ type: m[1] as Identifier['type'], value: m[2]! });
  return checkIdentifier({ type: text.includes(':') || /^[0-9.]+$/.test(text) ? 'ip' : 'dns', value: text });
}

/** Sorted, de-duplicated formatted identifiers: the canonical SAN set used for comparisons. */
export function canonicalSet(ids: Identifier[]): string[] {
  return [...new Set(ids.map((i) => `${i.type}:${i.value}`))].sort();
}
