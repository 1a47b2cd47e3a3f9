/**
 * Name constraints on the intermediate (RFC 5280 §4.2.1.10): CA-level least privilege. `pki init
 * --permit dns:.corp.internal --permit ip:10.0.0.0/8 --permit uri:spiffe://corp/ --exclude …`
 * writes a critical nameConstraints extension into the intermediate, and the authority reads it
 * back from that certificate and refuses, before signing, any leaf a verifier would reject.
 *
 * Matching, per name type (a type with no permitted subtree is not restricted by them, §4.2.1.10):
 * - dns: `corp.internal` is the name and every name under it; `.corp.internal` only names under it
 *   (as OpenSSL and Go read a leading dot).
 * - ip: address and mask (CIDR); an address of the other family matches nothing.
 * - uri: the constraint is a host (§4.2.1.10: "the name constraint applies to the host part"):
 *   `corp` is that host, `.corp.example` hosts under it; `uri:spiffe://corp/` is accepted at init as
 *   the host `corp`. A URI without a host is outside any URI constraint.
 */
import { isIP } from 'node:net';
import { derTlv, readTlv } from '../domain/der.ts';
import { CaError } from '../domain/errors.ts';
import { formatIdentifier, type Identifier } from '../domain/types.ts';
import type { x509 } from '../x509/x509.ts';
import { ipOctets } from './profiles.ts';

export const OID_NAME_CONSTRAINTS = '2.5.29.30';

/** One subtree: a DNS name or domain, an IP network (address and mask octets), or a URI host or domain. */
export type Subtree = { type: 'dns'; value: string } | { type: 'ip'; address: Uint8Array; mask: Uint8Array } | { type: 'uri'; value: string } | { type: 'other'; tag: number };

export interface NameConstraints {
  permitted: Subtree[];
  excluded: Subtree[];
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** `dns:NAME`, `ip:ADDRESS/BITS` or `uri:HOST` (or `uri:SCHEME://HOST/`), as `pki init` takes them; CaError('malformed') otherwise. */
export function parseSubtree(text: string): Subtree {
  const colon = text.indexOf(':');
  const type = text.slice(0, colon);
  const value = text.slice(colon + 1);
  const bad = (why: string) => new CaError('malformed', `name constraint "${text}": ${why}`);
  if (type === 'dns' || type === 'uri') {
    let host = value.toLowerCase();
    if (type === 'uri' && host.includes('://')) {
      const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@:]+)\/?$/.exec(host);
      if (!m) throw bad('a URI constraint names a host only (RFC 5280 §4.2.1.10), e.g. uri:spiffe://corp/ or uri:corp');
      host = m[1]!;
    }
    const labels = (host.startsWith('.') ? host.slice(1) : host).split('.');
    if (!labels.every((l) => LABEL.test(l))) throw bad(`"${host}" is not a DNS name or a .domain`);
    return { type, value: host };
  }
  if (type === 'ip') {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
    const family = m ? isIP(m[1]!) : 0;
    const bits = m ? Number(m[2]) : -1;
    if (!family || bits > (family === 4 ? 32 : 128)) throw bad('an IP constraint is ADDRESS/PREFIX, e.g. ip:10.0.0.0/8 or ip:fd00::/8');
    const address = ipOctets(m![1]!);
    const mask = new Uint8Array(address.length).map((_, i) => (0xff00 >> Math.min(8, Math.max(0, bits - 8 * i))) & 0xff);
    if (address.some((b, i) => b & ~mask[i]!)) throw bad(`${m![1]} has bits set beyond the /${bits} prefix`);
    return { type, address, mask };
  }
  throw bad('the type must be dns, ip or uri');
}

/** The extension value: NameConstraints ::= SEQUENCE { permittedSubtrees [0], excludedSubtrees [1] } of GeneralSubtree { base }. */
export function nameConstraintsDer(nc: NameConstraints): Uint8Array {
  const subtrees = (tag: number, list: Subtree[]) => (list.length ? [derTlv(tag, ...list.map((s) => derTlv(0x30, generalName(s))))] : []);
  return derTlv(0x30, ...subtrees(0xa0, nc.permitted), ...subtrees(0xa1, nc.excluded));
}

function generalName(s: Subtree): Uint8Array {
  if (s.type === 'other') throw new CaError('internal', 'only dns, ip and uri name constraints are written');
  if (s.type === 'ip') return derTlv(0x87, s.address, s.mask);
  return derTlv(s.type === 'dns' ? 0x82 : 0x86, Buffer.from(s.value, 'latin1'));
}

/** The constraints the certificate carries, or null; CaError('internal') when it carries ones pki cannot read. */
export function nameConstraintsOf(cert: x509.X509Certificate): NameConstraints | null {
  const ext = cert.getExtension(OID_NAME_CONSTRAINTS);
  if (!ext) return null;
  const der = new Uint8Array(ext.value);
  const nc: NameConstraints = { permitted: [], excluded: [] };
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) throw unreadable();
  for (let pos = outer.start; pos < outer.end; ) {
    const list = readTlv(der, pos, outer.end);
    if (!list || (list.tag !== 0xa0 && list.tag !== 0xa1)) throw unreadable();
    for (let p = list.start; p < list.end; ) {
      const subtree = readTlv(der, p, list.end);
      const base = subtree && subtree.tag === 0x30 ? readTlv(der, subtree.start, subtree.end) : null;
      if (!base) throw unreadable();
      (list.tag === 0xa0 ? nc.permitted : nc.excluded).push(subtreeOf(base.tag, der.subarray(base.start, base.end)));
      p = subtree!.end;
    }
    pos = list.end;
  }
  return nc;
}

const unreadable = () => new CaError('internal', "the issuer's nameConstraints extension cannot be read");

function subtreeOf(tag: number, value: Uint8Array): Subtree {
  const text = () => Buffer.from(value).toString('latin1').toLowerCase();
  if (tag === 0x82) return { type: 'dns', value: text() };
  if (tag === 0x86) return { type: 'uri', value: text() };
  if (tag === 0x87) return { type: 'ip', address: value.slice(0, value.length / 2), mask: value.slice(value.length / 2) };
  // Other types (email, directoryName) constrain names pki never issues.
  return { type: 'other', tag };
}

/** Throws CaError('rejectedIdentifier') naming the first identifier outside `nc`. */
export function checkNameConstraints(nc: NameConstraints, identifiers: Identifier[]): void {
  for (const id of identifiers) {
    const excluded = nc.excluded.find((s) => matches(s, id) || wildcardCovers(id, s));
    if (excluded) throw new CaError('rejectedIdentifier', `${formatIdentifier(id)} is excluded by the CA's name constraints (${describe(excluded)}, RFC 5280 §4.2.1.10)`);
    const ofType = nc.permitted.filter((s) => s.type === id.type);
    if (ofType.length && !ofType.some((s) => matches(s, id))) {
      throw new CaError('rejectedIdentifier', `${formatIdentifier(id)} is outside the CA's name constraints (permitted: ${ofType.map(describe).join(', ')}; RFC 5280 §4.2.1.10)`);
    }
  }
}

function matches(s: Subtree, id: Identifier): boolean {
  if (s.type === 'other' || s.type !== id.type) return false;
  if (s.type === 'ip') {
    const a = ipOctets(id.value);
    return a.length === s.address.length && a.every((b, i) => (b & s.mask[i]!) === s.address[i]);
  }
  if (s.type === 'dns') return hostMatches(s.value, id.value.toLowerCase());
  // §4.2.1.10: a URI constraint without a leading period is one host, not a domain.
  const host = uriHost(id.value);
  return host !== null && (s.value.startsWith('.') ? hostMatches(s.value, host) : host === s.value);
}

/**
 * A wildcard `*.B` is valid for every `L.B` (RFC 6125 §6.4.3), so it reaches an excluded `L.B` that
 * verifiers, comparing the SAN text, would not see: such a wildcard is excluded too.
 */
function wildcardCovers(id: Identifier, s: Subtree): boolean {
  if (id.type !== 'dns' || !id.value.startsWith('*.') || s.type !== 'dns' || s.value.startsWith('.')) return false;
  const base = id.value.slice(1).toLowerCase(); // ".B"
  return s.value.endsWith(base) && s.value.length > base.length && !s.value.slice(0, -base.length).includes('.');
}

function hostMatches(constraint: string, host: string): boolean {
  if (constraint.startsWith('.')) return host.endsWith(constraint) && host.length > constraint.length;
  return host === constraint || host.endsWith('.' + constraint);
}

/** The host of a URI (lowercase), or null without one. */
function uriHost(uri: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)/i.exec(uri);
  return m && m[1] ? m[1].toLowerCase() : null;
}

function describe(s: Subtree): string {
  if (s.type === 'other') return `GeneralName [${s.tag & 0x1f}]`;
  if (s.type !== 'ip') return `${s.type}:${s.value}`;
  const bits = s.mask.reduce((n, b) => n + b.toString(2).replaceAll('0', '').length, 0);
  const text = s.address.length === 4 ? s.address.join('.') : Buffer.from(s.address).toString('hex').match(/..../g)!.join(':');
  return `ip:${text}/${bits}`;
}
