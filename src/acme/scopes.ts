import { BlockList, isIP } from 'node:net';
import { CaError } from '../domain/errors.ts';
import type { Identifier } from '../domain/types.ts';

/**
 * Issuance scopes of an EAB key (least privilege per workload):
 *   dns:name            exactly that name
 *   dns:*.zone          any name below zone (and wildcards below it), not zone itself
 *   ip:10.1.0.0/16      any address in the prefix (a bare address means /32 or /128)
 *   uri:spiffe://x/*    any URI starting with the part before "*" (or exactly the URI)
 */
export type Scope =
  | { type: 'dns'; exact: string }
  | { type: 'dns'; suffix: string }
  | { type: 'ip'; block: BlockList }
  | { type: 'uri'; prefix: string; exact: boolean };

export function parseScope(text: string): Scope {
  const m = /^(dns|ip|uri):(.+)$/.exec(text);
  if (!m) throw new CaError('malformed', `scope "${text}" must start with dns:, ip: or uri:`);
  const [, type, value] = m as unknown as [string, string, string];
  if (type === 'dns') {
    const v = value.toLowerCase();
    if (v.startsWith('*.')) {
      if (!/^[a-z0-9.-]+$/.test(v.slice(2))) throw new CaError('malformed', `scope "${text}" is not a DNS name pattern`);
      return { type: 'dns', suffix: v.slice(1) };
    }
    if (!/^[a-z0-9.-]+$/.test(v)) throw new CaError('malformed', `scope "${text}" is not a DNS name (a wildcard may only be a leading "*.")`);
    return { type: 'dns', exact: v };
  }
  if (type === 'ip') {
    const [addr, prefixText] = value.split('/');
    const family = isIP(addr ?? '');
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new CaError('malformed', `scope "${text}" is not an IP address or CIDR prefix`);
    const block = new BlockList();
    block.addSubnet(addr!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    return { type: 'ip', block };
  }
  if (value.includes('*') && !value.endsWith('*')) throw new CaError('malformed', `scope "${text}": "*" is only allowed at the end of a URI scope`);
  return value.endsWith('*') ? { type: 'uri', prefix: value.slice(0, -1), exact: false } : { type: 'uri', prefix: value, exact: true };
}

export function scopeAllows(scope: Scope, id: Identifier): boolean {
  if (scope.type !== id.type) return false;
  switch (scope.type) {
    case 'dns':
      return 'exact' in scope ? id.value === scope.exact : id.value.endsWith(scope.suffix) && id.value.length > scope.suffix.length;
    case 'ip': {
      const family = isIP(id.value);
      return family !== 0 && scope.block.check(id.value, family === 4 ? 'ipv4' : 'ipv6');
    }
    case 'uri':
      return scope.exact ? id.value === scope.prefix : id.value.startsWith(scope.prefix);
  }
}

/** The identifiers that no scope allows (empty when all are allowed). */
export function outsideScopes(scopes: string[], ids: Identifier[]): Identifier[] {
  const parsed = scopes.map(parseScope);
  return ids.filter((id) => !parsed.some((s) => scopeAllows(s, id)));
}
