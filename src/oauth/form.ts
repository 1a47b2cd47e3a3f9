import { OAuthError } from './errors.ts';

/**
 * An application/x-www-form-urlencoded body (RFC 6749 §3.2, Appendix B), read strictly: the
 * Content-Type must say so, every parameter may appear once (§3.2: "Request and response
 * parameters MUST NOT be included more than once"), a broken %-escape or non-UTF-8 text is
 * invalid_request, and an empty value counts as omitted (§3.1).
 */
export function parseForm(contentType: string | undefined, body: Buffer): Map<string, string> {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', `Content-Type must be application/x-www-form-urlencoded (RFC 6749 §3.2), not "${type || 'none'}"`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new OAuthError('invalid_request', 'the body is not UTF-8 text');
  }
  const params = new Map<string, string>();
  if (text === '') return params;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    if (params.has(name)) throw new OAuthError('invalid_request', `parameter "${name}" is repeated (RFC 6749 §3.2 forbids it)`);
    params.set(name, value);
  }
  for (const [k, v] of params) if (v === '') params.delete(k);
  return params;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new OAuthError('invalid_request', 'the body has a broken %-escape');
  }
}
