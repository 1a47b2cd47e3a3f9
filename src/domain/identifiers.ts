import { isIP } from 'node:net';
import { CaError } from './errors.ts';
import type { Identifier } from './types.ts';

/** A DNS name as RFC 5280 allows it in a SAN: LDH labels, optional leading `*.` wildcard, lowercased. */
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normalizeIdentifier(id: Identifier): Identifier {
  switch (id.type) {
    case 'dns': {
      const value = id.value.toLowerCase().replace(/\.$/, '');
      const labels = value.split('.');
      const body = labels[0] === '*' ? labels.slice(1) : labels;
      if (value.length > 253 || body.length < 1 || !body.every((l) => DNS_LABEL.test(l)) || isIP(value)) {
        throw new CaError('rejectedIdentifier', `"${id.value}" is not a valid DNS name`);
      }
      return { type: 'dns', value };
    }
    case 'ip': {
      if (!isIP(id.value)) throw new CaError('rejectedIdentifier', `"${id.value}" is not a valid IP address`);
      return { type: 'ip', value: id.value.toLowerCase() };
    }
    case 'uri': {
      let url: URL;
      try {
        url = new URL(id.value);
      } catch {
        throw new CaError('rejectedIdentifier', `"${id.value}" is not a valid URI`);
      }
      if (!url.protocol || url.protocol.length < 2) throw new CaError('rejectedIdentifier', `"${id.value}" has no scheme`);
      return { type: 'uri', value: id.value };
    }
  }
}

/** Parses `dns:a.example`, `ip:10.0.0.1`, `uri:spiffe://…`; a bare name is taken as DNS or IP by its shape. */
export function parseIdentifier(text: string): Identifier {
  const m = /^(dns|ip|uri):(.+)$/i.exec(text);
  if (m) return normalizeIdentifier({ type: m[1]!.toLowerCase() as Identifier['type'], value: m[2]! });
  return normalizeIdentifier({ type: isIP(text) ? 'ip' : 'dns', value: text });
}

/** Sorted, de-duplicated formatted identifiers: the canonical SAN set used for comparisons. */
export function canonicalSet(ids: Identifier[]): string[] {
  return [...new Set(ids.map((i) => `${i.type}:${i.value}`))].sort();
}
