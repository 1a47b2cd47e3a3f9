import { isIP } from 'node:net';

/**
 * The server name a tls-alpn-01 validator sends for an identifier (RFC 8737 §3, RFC 8738 §6):
 * the DNS name itself, or for an IP address its reverse-DNS name (in-addr.arpa / ip6.arpa).
 * The responder must pick its certificate by this name, never by the identifier's text.
 */
export function challengeServerName(identifier: { type: string; value: string }): string {
  if (identifier.type !== 'ip') return identifier.value.toLowerCase();
  const octets = addressOctets(identifier.value);
  if (octets.length === 4) return `${[...octets].reverse().join('.')}.in-addr.arpa`;
  const nibbles = octets.flatMap((o) => [o >> 4, o & 0xf]).map((n) => n.toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/** 4 or 16 octets of an IPv4 or IPv6 text address (IPv6 may end in a dotted IPv4, RFC 4291 §2.2). */
function addressOctets(ip: string): number[] {
  const kind = isIP(ip);
  if (kind === 4) return ip.split('.').map(Number);
  if (kind !== 6) throw new Error(`not an IP address: ${ip}`);
  let text = ip.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}
