import { dnsNameError } from '../domain/dns-name.ts';
import { CaError } from '../domain/errors.ts';
import { identifierError } from '../domain/identifiers.ts';
import { checkIpText } from '../domain/ip.ts';
import type { Identifier } from '../domain/types.ts';
import { uriError } from '../domain/uri.ts';

/**
 * Issuance scopes of an EAB key (least privilege per workload):
 *   dns:name            exactly that name
 *   dns:*.zone          any name below zone (and wildcards below it), not zone itself
 *   ip:10.1.0.0/16      any address of that family in the prefix (a bare address means /32 or /128)
 *   uri:U               exactly the URI U
 *   uri:U/*             any URI under the path U/ (whole segments: payments/* never admits payments-evil)
 * A scope is written in the same canonical form as the identifiers it admits (the same checks), and
 * is matched only against identifiers that passed the identifier gate, so a prefix match on the text
 * is a match on what the identifier means. An IPv4 scope never admits an IPv6 address, IPv4-mapped
 * ones included (the gate refuses those outright).
 */
export type Scope =
  | { type: 'dns'; exact: string }
  | { type: 'dns'; suffix: string }
  | { type: 'ip'; family: 4 | 6; network: Uint8Array; prefixBits: number }
  | { type: 'uri'; exact: string }
  | { type: 'uri'; under: string };

export function parseScope(text: string): Scope {
  const m = /^(dns|ip|uri):(.+)$/.exec(text);
  if (!m) throw new CaError('malformed', `scope "${text}" must start with dns:, ip: or uri:`);
  const [, type, value] = m as unknown as [string, string, string];
  const bad = (why: string) => new CaError('malformed', `scope "${text}": ${why}`);
  if (type === 'dns') {
    const why = dnsNameError(value);
    if (why) throw bad(`${why} (a wildcard may only be a whole leading "*.")`);
    return value.startsWith('*.') ? { type: 'dns', suffix: value.slice(1) } : { type: 'dns', exact: value };
  }
  if (type === 'ip') return parseIpScope(value, bad);
  if (value.slice(0, value.endsWith('/*') ? -2 : undefined).includes('*')) throw bad('"*" is only allowed as a whole last path segment ("…/*")');
  if (value.endsWith('/*')) {
    const base = value.slice(0, -2);
    const why = uriError(base);
    if (why) throw bad(why);
    if (/[?#]/.test(base)) throw bad('a URI prefix scope has no query or fragment');
    return { type: 'uri', under: `${base}/` };
  }
  const why = uriError(value);
  if (why) throw bad(why);
  return { type: 'uri', exact: value };
}

function parseIpScope(value: string, bad: (why: string) => CaError): Scope {
  const [addr, prefixText, extra] = value.split('/') as [string, string | undefined, string | undefined];
  if (extra !== undefined) throw bad('write an address or address/prefix');
  const ip = checkIpText(addr);
  if ('error' in ip) throw bad(ip.error);
  const max = ip.family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText)) throw bad('the prefix length is a decimal number without leading zeros');
  const prefixBits = prefixText === undefined ? max : Number(prefixText);
  if (prefixBits > max) throw bad(`an IPv${ip.family} prefix is at most /${max}`);
  if (!prefixMatches(ip.octets, masked(ip.octets, prefixBits), ip.octets.length * 8)) {
    // 10.1.2.3/16 is refused rather than read as 10.1.0.0/16: the operator may have meant 10.1.2.3/32.
    throw bad(`"${addr}" has bits set past /${prefixBits}`);
  }
  return { type: 'ip', family: ip.family, network: ip.octets, prefixBits };
}

/** The address with every bit past the first `bits` cleared. */
function masked(octets: Uint8Array, bits: number): Uint8Array {
  return octets.map((b, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? b : b & ((0xff << (8 - (bits - i * 8))) & 0xff)));
}

/** Whether the first `bits` bits of a and b agree. */
function prefixMatches(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

/** Whether the scope admits `id`; an identifier that fails the gate is admitted by no scope. */
export function scopeAllows(scope: Scope, id: Identifier): boolean {
  if (scope.type !== id.type || identifierError(id) !== null) return false;
  switch (scope.type) {
    case 'dns':
      return 'exact' in scope ? id.value === scope.exact : id.value.endsWith(scope.suffix) && id.value.length > scope.suffix.length;
    case 'ip': {
      const ip = checkIpText(id.value);
      return !('error' in ip) && ip.family === scope.family && prefixMatches(ip.octets, scope.network, scope.prefixBits);
    }
    case 'uri':
      // Under the prefix means a non-empty segment next: not U/ itself, U/?q, or U//x (read as an authority by some joiners).
      return 'exact' in scope ? id.value === scope.exact : id.value.startsWith(scope.under) && /^[^/?#]/.test(id.value.slice(scope.under.length));
  }
}

/**
 * The identifiers that no scope allows (empty when all are allowed). A stored scope that no longer
 * parses (written before the scope rules tightened) admits nothing: the key fails closed.
 */
export function outsideScopes(scopes: string[], ids: Identifier[]): Identifier[] {
  const parsed = scopes.flatMap((s) => {
    try {
      return [parseScope(s)];
    } catch {
      return [];
    }
  });
  return ids.filter((id) => !parsed.some((s) => scopeAllows(s, id)));
}
