import { domainToASCII, domainToUnicode } from 'node:url';

/**
 * DNS names in the one form pki compares and issues: lowercase LDH labels (RFC 1123 §2.1, RFC 5280
 * §4.2.1.6), no trailing dot, at most a whole leftmost `*` label. RFC 8555 §7.1.4 says nothing
 * of case and DNS compares without it (RFC 4343), so folding would be allowed; uppercase is refused
 * instead, like every other spelling that is not the canonical one, so that a name is issued exactly
 * as it was checked against the scopes, and the message says to write it in lowercase.
 */
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` is not a canonical DNS name (a leading `*.` allowed when `wildcard`), or null. */
export function dnsNameError(name: string, wildcard = true): string | null {
  if (name.length === 0) return 'an empty DNS name';
  if (name.length > 253) return `"${name}" is longer than 253 characters`;
  if (name.endsWith('.')) return `"${name}" ends with a dot: write the name without it`;
  if (/[A-Z]/.test(name)) return `"${name}" has uppercase letters: write it in lowercase`;
  const labels = name.split('.');
  if (labels[0] === '*') {
    if (!wildcard) return `"${name}": a wildcard is not allowed here`;
    labels.shift();
    if (labels.length === 0) return `"${name}": a wildcard needs a name under it`;
  }
  for (const label of labels) {
    const why = labelError(label);
    if (why) return `"${name}" ${why}`;
  }
  // RFC 1123 §2.1 / RFC 3696 §2: a top-level label is never all-numeric, so nothing reads as an address.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return `"${name}" ends in an all-numeric label: it is not a DNS name (an IP address is type ip)`;
  return null;
}

function labelError(label: string): string | null {
  if (label === '*') return 'has a wildcard that is not the whole leftmost label';
  if (!LDH_LABEL.test(label)) return `has an invalid label "${label}" (1-63 of a-z, 0-9 and "-", not starting or ending with "-")`;
  if (label.slice(2, 4) !== '--') return null;
  // RFC 5890 §2.3.1: "??--" labels are reserved; only the "xn--" A-labels are in use.
  if (!label.startsWith('xn--')) return `has a reserved label "${label}" (only "xn--" may have "--" in positions 3-4)`;
  // An A-label must decode to Unicode that encodes back to exactly itself (RFC 5891 §5.4, UTS #46 via WHATWG URL).
  const unicode = domainToUnicode(label);
  if (unicode === '' || unicode === label || domainToASCII(unicode) !== label) return `has an "xn--" label that is not a valid IDNA A-label: "${label}"`;
  return null;
}
