import { dnsNameError } from './dns-name.ts';
import { checkIpText } from './ip.ts';

/**
 * URIs in the one form pki compares and issues (RFC 5280 §4.2.1.6: an absolute RFC 3986 URI).
 * What RFC 3986 §6.2.2 would normalise is refused instead, so that a prefix match on the text is a
 * match on what the URI means: no dot segments (§5.2.4), no percent-encoded unreserved characters
 * (§2.3, so no `%2e%2e` either), percent-encodings in uppercase hex (§2.1), a lowercase scheme and
 * host (§6.2.2.1), no userinfo (§3.2.1), no empty or default port. An encoded "/" or "\" in the
 * path is refused too: a consumer that decodes before splitting would see a segment boundary the
 * scope check did not. `spiffe://` URIs follow the SPIFFE ID specification (spiffe/standards
 * SPIFFE-ID.md §2): lowercase trust domain of [a-z0-9._-] with no port or userinfo, non-empty path
 * segments of [A-Za-z0-9._-] other than "." and "..", no trailing "/", no query or fragment.
 */
const MAX_URI = 2048;
const SCHEME = /^[a-z][a-z0-9+.-]*$/;
/** RFC 3986 §2.2-2.3: unreserved, sub-delims, ":" "@" "/" "?" "#" and "%" (checked separately). */
const URI_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%[\]]*$/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const PCHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]*$/;
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' };
const SPIFFE_TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SPIFFE_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Why `text` is not a canonical absolute URI (SPIFFE IDs held to the SPIFFE rules), or null. */
export function uriError(text: string): string | null {
  if (text.length > MAX_URI) return `a URI longer than ${MAX_URI} characters`;
  if (!URI_CHARS.test(text)) return `"${text}" has characters a URI may not hold unencoded (RFC 3986 §2)`;
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon);
  if (!SCHEME.test(scheme)) return `"${text}" has no scheme, or one not in lowercase (RFC 3986 §3.1)`;
  const encodings = percentError(text);
  if (encodings) return `"${text}" ${encodings}`;
  const m = /^([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(text.slice(colon + 1))!;
  const [, hierPart, query, fragment] = m as unknown as [string, string, string | undefined, string | undefined];
  let path = hierPart;
  let host: string | null = null;
  if (hierPart.startsWith('//')) {
    const end = hierPart.indexOf('/', 2);
    const authority = hierPart.slice(2, end < 0 ? undefined : end);
    path = end < 0 ? '' : hierPart.slice(end);
    const why = authorityError(scheme, authority);
    if (why) return `"${text}" ${why}`;
    host = authority;
  } else if (hierPart === '') {
    return `"${text}" has nothing after the scheme (RFC 5280 §4.2.1.6)`;
  }
  if (/[[\]]/.test(path) || /[[\]]/.test(query ?? '') || /[[\]#]/.test(fragment ?? '')) return `"${text}" has "[", "]" or "#" out of place (RFC 3986 §3)`;
  const segments = path.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return `"${text}" has a "." or ".." path segment (RFC 3986 §5.2.4): write the path it stands for`;
  if (/%(?:2F|5C)/.test(path)) return `"${text}" has an encoded "/" or "\\" in its path`;
  if (!segments.every((s) => PCHARS.test(s))) return `"${text}" has a path character that must be percent-encoded (RFC 3986 §3.3)`;
  if (host === null && path.startsWith('//')) return `"${text}" has an empty authority`;
  if (scheme === 'spiffe') return spiffeError(text, host, path, query, fragment);
  return null;
}

/** Every "%" starts an encoding of two uppercase hex digits of a character that needs it. */
function percentError(text: string): string | null {
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) {
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) return /^[0-9a-fA-F]{2}$/.test(hex) ? 'has a percent-encoding in lowercase hex (RFC 3986 §2.1: uppercase)' : 'has a "%" that is not a percent-encoding';
    if (UNRESERVED.test(String.fromCharCode(parseInt(hex, 16)))) return `percent-encodes the unreserved character "${String.fromCharCode(parseInt(hex, 16))}" (RFC 3986 §2.3)`;
  }
  return null;
}

function authorityError(scheme: string, authority: string): string | null {
  if (authority.includes('@')) return 'has userinfo (RFC 3986 §3.2.1): it is not allowed';
  if (authority.includes('%')) return 'has a percent-encoded host';
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::([^:]*))?$/.exec(authority);
  if (!m) return 'has an authority that is not host[:port]';
  const [, host, port] = m as unknown as [string, string, string | undefined];
  if (port !== undefined) {
    if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) return `has port "${port}": write 1-65535 without leading zeros, or none`;
    if (DEFAULT_PORTS[scheme] === port) return `names ${scheme}'s default port ${port}: leave it out (RFC 3986 §6.2.3)`;
  }
  if (host === '') return 'has an empty host';
  if (host.startsWith('[')) {
    const ip = checkIpText(host.slice(1, -1));
    return 'error' in ip ? `has a host that is not a canonical IPv6 literal: ${ip.error}` : null;
  }
  if (/^[0-9.]+$/.test(host)) {
    const ip = checkIpText(host);
    return 'error' in ip ? `has a host that is not a canonical IPv4 address: ${ip.error}` : null;
  }
  if (scheme === 'spiffe') return SPIFFE_TRUST_DOMAIN.test(host) ? null : 'has a trust domain outside [a-z0-9._-]';
  const why = dnsNameError(host, false);
  return why ? `has a host that is not a canonical DNS name: ${why}` : null;
}

function spiffeError(text: string, host: string | null, path: string, query: string | undefined, fragment: string | undefined): string | null {
  if (host === null) return `"${text}" has no trust domain (spiffe://trust-domain/path)`;
  if (host.length > 255 || !SPIFFE_TRUST_DOMAIN.test(host)) return `"${text}" has a trust domain that is not lowercase [a-z0-9._-] without port or userinfo`;
  if (query !== undefined || fragment !== undefined) return `"${text}": a SPIFFE ID has no query or fragment`;
  if (path === '') return null;
  if (path.endsWith('/')) return `"${text}": a SPIFFE ID has no trailing "/"`;
  if (!path.slice(1).split('/').every((s) => SPIFFE_SEGMENT.test(s))) return `"${text}": SPIFFE ID path segments are non-empty [A-Za-z0-9._-]`;
  return null;
}
