import { reverseName } from '../domain/ip.ts';

/**
 * The server name a tls-alpn-01 validator sends for an identifier (RFC 8737 §3, RFC 8738 §6):
 * the DNS name itself, or for an IP address its reverse-DNS name (in-addr.arpa / ip6.arpa).
 * The responder must pick its certificate by this name, never by the identifier's text.
 */
export function challengeServerName(identifier: { type: string; value: string }): string {
  return identifier.type === 'ip' ? reverseName(identifier.value) : identifier.value.toLowerCase();
}
