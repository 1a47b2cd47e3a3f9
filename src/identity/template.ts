import { CaError } from '../domain/errors.ts';
import { identifierError } from '../domain/identifiers.ts';
import type { Identifier } from '../domain/types.ts';

/**
 * How a trusted issuer's token claims become identifiers. `subject` and `claims` are patterns whose
 * named captures (`(?<ns>…)`) feed the identifier templates' `{ns}`; `{claim.a/b}` takes claim
 * a → b directly (`{claim.kubernetes.io/namespace}`). A pattern must match the whole value.
 */
export interface TemplateSpec {
  /** Pattern the token's `sub` must match, or null when `sub` is not constrained. */
  subject: string | null;
  /** Patterns other claims must match, by claim path (segments joined by "/"). */
  claims: Record<string, string>;
  /** `dns:…`, `ip:…`, `uri:…` with `{name}` / `{claim.path}` placeholders. */
  identifiers: string[];
}

/**
 * What a placeholder may stand for: one lowercase DNS label. A captured or claimed value can then
 * neither add a label, a path segment, a port nor a dot segment: the identifier's shape is the
 * operator's, only the label is the token's.
 */
const SAFE_VALUE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;
/** Claims longer than this are refused before any pattern runs: an operator's pattern never meets a token-sized string. */
const MAX_CLAIM_CHARS = 1024;
const CLAIM_PREFIX = 'claim.';

export interface Template {
  readonly spec: TemplateSpec;
  /** The identifiers `claims` yield; a CaError('unauthorized') saying which claim maps to nothing. */
  apply(claims: Record<string, unknown>): Identifier[];
}

/** Checks an operator's template (`pki issuers add`) and compiles it; a CaError('malformed') says what is wrong. */
export function compileTemplate(spec: TemplateSpec): Template {
  if (spec.identifiers.length === 0) throw new CaError('malformed', 'give at least one --identifier template, e.g. "uri:spiffe://corp/ns/{ns}/sa/{sa}"');
  const patterns: { path: string; re: RegExp }[] = [];
  const captures = new Set<string>();
  const add = (path: string, source: string) => {
    let re: RegExp;
    try {
      // Anchored whatever the operator wrote: a pattern that matches part of a claim grants nothing more.
      re = new RegExp(`^(?:${source})$`, 'u');
    } catch (e) {
      throw new CaError('malformed', `pattern for ${path} is not a valid regular expression: ${(e as Error).message}`);
    }
    for (const name of namedGroups(source)) {
      if (captures.has(name)) throw new CaError('malformed', `capture "${name}" is named twice in the template's patterns`);
      captures.add(name);
    }
    patterns.push({ path, re });
  };
  if (spec.subject !== null) add('sub', spec.subject);
  for (const [path, source] of Object.entries(spec.claims)) add(path, source);

  for (const text of spec.identifiers) {
    const type = /^(dns|ip|uri):/.exec(text)?.[1];
    if (!type) throw new CaError('malformed', `identifier template "${text}" must start with dns:, ip: or uri:`);
    // tkauth-01 is never offered for a wildcard (a token grants exact names), so such a template could only mislead.
    if (text.startsWith('dns:*')) throw new CaError('malformed', `identifier template "${text}": a token grants exact names, never a wildcard`);
    for (const [, name] of text.matchAll(PLACEHOLDER)) {
      if (name!.startsWith(CLAIM_PREFIX) ? name!.length === CLAIM_PREFIX.length : !captures.has(name!)) {
        throw new CaError('malformed', `identifier template "${text}": {${name}} is neither a named capture of --subject/--claim nor {claim.<path>}`);
      }
    }
    // Filled with a sample label, the template must give a canonical identifier (domain/identifiers.ts).
    const sample = text.slice(type.length + 1).replace(PLACEHOLDER, 'a');
    const why = identifierError({ type: type as Identifier['type'], value: sample });
    if (why) throw new CaError('malformed', `identifier template "${text}" does not make a valid identifier (${why})`);
  }

  return {
    spec,
    apply(claims) {
      const values = new Map<string, string>();
      for (const { path, re } of patterns) {
        const v = claimAt(claims, path);
        if (typeof v !== 'string') throw refuse(`the token has no string claim "${path}"`);
        if (v.length > MAX_CLAIM_CHARS) throw refuse(`claim "${path}" is longer than ${MAX_CLAIM_CHARS} characters`);
        const m = re.exec(v);
        if (!m) throw refuse(`claim "${path}" = ${JSON.stringify(v)} does not match the issuer's pattern ${re.source}`);
        for (const [name, value] of Object.entries(m.groups ?? {})) if (value !== undefined) values.set(name, value);
      }
      return spec.identifiers.map((text) => {
        const value = text.replace(PLACEHOLDER, (_, name: string) => {
          const v = name.startsWith(CLAIM_PREFIX) ? claimAt(claims, name.slice(CLAIM_PREFIX.length)) : values.get(name);
          if (typeof v !== 'string') throw refuse(`{${name}} of "${text}" maps to nothing in the token`);
          if (!SAFE_VALUE.test(v)) throw refuse(`{${name}} of "${text}" is ${JSON.stringify(v)}, not a lowercase DNS label (a-z, 0-9, "-")`);
          return v;
        });
        const type = value.slice(0, value.indexOf(':')) as Identifier['type'];
        const id = { type, value: value.slice(type.length + 1) };
        const why = identifierError(id);
        if (why) throw refuse(`"${text}" gives ${value}, which is not a valid identifier (${why})`);
        return id;
      });
    },
  };
}

/** A claim by path: "kubernetes.io/namespace" is claims["kubernetes.io"]["namespace"]; "sub" is the subject. */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let v: unknown = claims;
  for (const seg of path.split('/')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

function namedGroups(source: string): string[] {
  return [...source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((m) => m[1]!);
}

const refuse = (why: string) => new CaError('unauthorized', `token claims map to no identifier: ${why}`);

/** Reads a stored template (JSON) back; a row that no longer compiles grants nothing. */
export function storedTemplate(json: string): Template {
  const spec = JSON.parse(json) as TemplateSpec;
  return compileTemplate({ subject: spec.subject ?? null, claims: spec.claims ?? {}, identifiers: spec.identifiers ?? [] });
}
