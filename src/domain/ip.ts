/**
 * IP addresses as text, one canonical form each: RFC 8738 §3 asks for the RFC 1123 §2.1 form of
 * an IPv4 address and the RFC 5952 §4 form of an IPv6 address. Text in any other form (leading
 * zeros, uppercase, `::` for one group, zone ids, embedded dotted IPv4) is refused with the
 * canonical spelling in the message, never rewritten: what is checked is what is issued.
 */

/** One decimal octet without leading zeros (RFC 1123 §2.1; a leading zero reads as octal to inet_aton). */
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export interface IpAddress {
  family: 4 | 6;
  octets: Uint8Array;
}

/** IPv4 in dotted-quad form: exactly four octets, no leading zeros. */
export function parseIpv4(text: string): Uint8Array | null {
  return IPV4.test(text) ? Uint8Array.from(text.split('.').map(Number)) : null;
}

/** Any RFC 4291 §2.2 text form of an IPv6 address (no zone id), canonical or not. */
export function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseSide = (side: string, last: boolean): number[] | null => {
    if (side === '') return [];
    const parts = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (HEX_GROUP.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const left = parseSide(halves[0]!, halves.length === 1);
  const right = halves.length === 2 ? parseSide(halves[1]!, true) : [];
  if (!left || !right) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * The canonical text of 4 or 16 octets: dotted decimal; IPv6 as RFC 5952 §4 writes it (lowercase
 * hex, no leading zeros, the first longest run of two or more zero groups as `::`). Addresses with
 * an embedded IPv4 are written in hex too: the one prefix §5 would write dotted, IPv4-mapped, is
 * refused before it gets here.
 */
export function formatIp(octets: Uint8Array): string {
  if (octets.length === 4) return octets.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((octets[i]! << 8) | octets[i + 1]!).toString(16));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
export function isIpv4Mapped(octets: Uint8Array): boolean {
  return octets.length === 16 && octets.subarray(0, 10).every((b) => b === 0) && octets[10] === 0xff && octets[11] === 0xff;
}

/**
 * The address written in `text`, or why it is refused. IPv4-mapped IPv6 addresses are refused
 * outright, in identifiers and in scopes alike: they name an IPv4 host through the IPv6 family,
 * so admitting them would either let them slip past IPv4 scopes or make two texts for one host.
 */
export function checkIpText(text: string): IpAddress | { error: string } {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, octets: v4 };
  if (!text.includes(':')) return { error: `"${text}" is not an IP address (IPv4 is four decimal octets without leading zeros)` };
  const v6 = parseIpv6(text);
  if (!v6) return { error: `"${text}" is not an IPv6 address (RFC 4291 §2.2; zone ids are not allowed)` };
  if (isIpv4Mapped(v6)) return { error: `"${text}" is an IPv4-mapped IPv6 address: use the IPv4 address ${formatIp(v6.subarray(12))}` };
  const canonical = formatIp(v6);
  if (canonical !== text) return { error: `"${text}" is not in canonical form (RFC 5952 §4): write ${canonical}` };
  return { family: 6, octets: v6 };
}

/** The 4 or 16 octets of an address in any valid text form (dotted quad, any RFC 4291 §2.2 IPv6 form); null otherwise. */
export function ipOctetsOf(text: string): Uint8Array | null {
  return parseIpv4(text) ?? parseIpv6(text);
}

/** The reverse-DNS name of an address (in-addr.arpa / ip6.arpa): the SNI of tls-alpn-01 for an IP (RFC 8738 §6). */
export function reverseName(ip: string): string {
  const octets = ipOctetsOf(ip);
  if (!octets) throw new Error(`not an IP address: ${ip}`);
  if (octets.length === 4) return `${[...octets].reverse().join('.')}.in-addr.arpa`;
  const nibbles = [...octets].flatMap((o) => [o >> 4, o & 0xf]).map((n) => n.toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}
