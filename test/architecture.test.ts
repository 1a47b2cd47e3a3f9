import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaInstance } from '../src/index.ts';
import { createTestCa } from './helpers/ca.ts';

/**
 * The map of src/ (docs/design.md) as a check: which folder may import which, who may hold the
 * issuer's signer, and how long a file may grow. A change that breaks the map fails here.
 */
const ROOT = resolve(import.meta.dirname, '..');

/**
 * What each folder of src/ may import besides itself: http → {acme, status} → authority →
 * {keystore, store} → domain, with x509 (encoders and parsers) and config beside domain,
 * health and metrics observing the authority, and instance/ the composition root above all.
 * `index` is src/index.ts, the surface cli/ uses.
 */
export const MAY_IMPORT: Record<string, readonly string[]> = {
  domain: [],
  tlog: ['domain'],
  x509: ['domain'],
  config: ['domain'],
  store: ['domain', 'tlog'],
  keystore: ['domain', 'x509'],
  authority: ['domain', 'x509', 'store', 'keystore', 'tlog'],
  metrics: ['domain', 'authority'],
  status: ['domain', 'x509', 'config', 'store', 'authority'],
  acme: ['domain', 'x509', 'store', 'config'],
  identity: ['domain', 'store'],
  est: ['domain', 'x509', 'store', 'acme'],
  oauth: ['domain', 'store'],
  'resource-server': ['domain'],
  health: ['domain', 'store', 'keystore', 'authority', 'metrics'],
  client: ['domain', 'x509', 'tlog'],
  http: ['domain', 'x509', 'config', 'metrics', 'health', 'acme', 'status', 'est', 'oauth', 'tlog'],
  instance: ['domain', 'x509', 'config', 'store', 'keystore', 'authority', 'metrics', 'status', 'acme', 'health', 'http', 'identity', 'est', 'oauth', 'tlog'],
  index: ['domain', 'x509', 'config', 'keystore', 'instance', 'acme', 'client', 'identity', 'est', 'oauth', 'resource-server', 'tlog'],
  // src/agent.ts: the workload agent's surface (pki-agent is bundled from it alone, #19).
  agent: ['domain', 'x509', 'client'],
  // src/cli-revoke.ts: `pki revoke`'s surface (#21), so it loads no protocol or server code beside a busy server.
  'cli-revoke': ['domain', 'x509', 'store', 'instance'],
};

/** Folders whose code may take or touch the signer of a CA key: the key stores make signers, the authority alone uses the issuer's. */
const SIGNER_HOLDERS = ['keystore', 'authority'];
/** Encoders that sign given bytes with a Signer they are handed (only the authority hands them one), and the interface itself. */
const SIGNER_TYPE_USERS = [...SIGNER_HOLDERS, 'x509', 'domain'];
const MAX_LINES = 400;

function walk(dir: string, pattern = /\.(ts|js)$/): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? (n === 'node_modules' ? [] : walk(p, pattern)) : pattern.test(n) ? [p] : [];
  });
}

/** Relative import specifiers of a file (static, dynamic and side-effect imports, re-exports). */
export function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

/** The folder of src/ a path belongs to (`index` for src/index.ts), or null outside src/. */
export function layerOf(path: string): string | null {
  const r = relative(join(ROOT, 'src'), path);
  if (r.startsWith('..')) return null;
  const slash = r.indexOf('/');
  return slash === -1 ? r.replace(/\.ts$/, '') : r.slice(0, slash);
}

/** Every import of `files` that the map forbids, as `from → to`. */
export function violations(files: string[], read: (f: string) => string = (f) => readFileSync(f, 'utf8')): string[] {
  const found: string[] = [];
  for (const f of files) {
    const from = layerOf(f);
    for (const spec of importsOf(read(f))) {
      const target = resolve(dirname(f), spec);
      const to = layerOf(target);
      const rel = `${relative(ROOT, f)} → ${relative(ROOT, target)}`;
      if (from === null) {
        // cli/ sees src/ only through its public surfaces (src/agent.ts: the client side alone; src/cli-revoke.ts: revoke's).
        if (to !== null && to !== 'index' && to !== 'agent' && to !== 'cli-revoke') found.push(rel);
      } else if (to === null) {
        found.push(rel);
      } else if (to !== from && !(MAY_IMPORT[from] ?? []).includes(to)) {
        found.push(rel);
      }
    }
  }
  return found;
}

const srcFiles = walk(join(ROOT, 'src'));
const cliFiles = walk(join(ROOT, 'cli'));

describe('architecture: the map holds', () => {
  it('ok/the allowed imports form no cycle (a topological order of the folders exists)', () => {
    const order: string[] = [];
    const left = new Set(Object.keys(MAY_IMPORT));
    while (left.size) {
      const next = [...left].find((l) => MAY_IMPORT[l]!.every((d) => !left.has(d)));
      expect(next, `cycle among ${[...left].join(', ')}`).toBeDefined();
      order.push(next!);
      left.delete(next!);
    }
    expect(order.indexOf('domain')).toBe(0);
    for (const [from, tos] of Object.entries(MAY_IMPORT)) for (const to of tos) expect(MAY_IMPORT[to], `${from} → ${to}: unknown folder`).toBeDefined();
  });

  it('ok/every folder of src/ is on the map', () => {
    const folders = new Set(srcFiles.map((f) => layerOf(f)!));
    expect([...folders].filter((f) => !(f in MAY_IMPORT))).toEqual([]);
  });

  it('ok/no module imports against the direction, and cli/ uses only src/index.ts', () => {
    expect(violations([...srcFiles, ...cliFiles])).toEqual([]);
  });

  it('ok/cli/agent.ts (pki-agent) reaches src/ only through src/agent.ts, never src/index.ts and the server behind it', () => {
    const seen = new Set<string>();
    const reach = (f: string): void => {
      if (seen.has(f) || layerOf(f) !== null) return;
      seen.add(f);
      for (const spec of importsOf(readFileSync(f, 'utf8'))) reach(resolve(dirname(f), spec));
    };
    reach(join(ROOT, 'cli/agent.ts'));
    const intoSrc = [...seen].flatMap((f) => importsOf(readFileSync(f, 'utf8')).map((s) => resolve(dirname(f), s)).filter((t) => layerOf(t) !== null).map((t) => `${relative(ROOT, f)} → ${relative(ROOT, t)}`));
    expect(intoSrc.length).toBeGreaterThan(0);
    expect(intoSrc.filter((e) => !e.endsWith('→ src/agent.ts'))).toEqual([]);
  });

  it('fail/the check itself catches an upward import and a cli reach-in', () => {
    const fake = (rel: string) => join(ROOT, rel);
    const texts: Record<string, string> = {
      [fake('src/store/x.ts')]: "import { Authority } from '../authority/authority.ts';",
      [fake('src/authority/y.ts')]: "export { z } from '../status/status-service.ts';",
      [fake('cli/commands/z.ts')]: "const m = await import('../../src/x509/x509.ts');",
      [fake('src/acme/ok.ts')]: "import type { Store } from '../store/store.ts';",
    };
    expect(violations(Object.keys(texts), (f) => texts[f]!)).toHaveLength(3);
  });

  it('ok/only the key stores and the authority take a signer; only they and the encoders they call name the Signer type', () => {
    const offenders: string[] = [];
    for (const f of srcFiles) {
      const layer = layerOf(f)!;
      const text = readFileSync(f, 'utf8');
      if (/\bget(?:Log)?Signer\s*\(/.test(text) && !SIGNER_HOLDERS.includes(layer)) offenders.push(`${relative(ROOT, f)} calls getSigner`);
      const namesSigner = importsOf(text).some((s) => resolve(dirname(f), s) === join(ROOT, 'src/domain/signer.ts'));
      if (namesSigner && !SIGNER_TYPE_USERS.includes(layer)) offenders.push(`${relative(ROOT, f)} imports the Signer type`);
    }
    expect(offenders).toEqual([]);
  });

  it(`ok/no source file passes ${MAX_LINES} lines`, () => {
    const files = [...srcFiles, ...cliFiles, ...walk(join(ROOT, 'scripts')), ...walk(join(ROOT, 'test'))];
    const long = files.map((f) => [relative(ROOT, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('ok/no file carries a merge conflict marker (one once hid inside a doc comment, where tsc does not see it)', () => {
    const files = [...srcFiles, ...cliFiles, ...walk(join(ROOT, 'scripts')), ...walk(join(ROOT, 'test')), ...walk(join(ROOT, 'docs'), /\.md$/)];
    const marked = files.filter((f) => /^(<{7}|>{7}) /m.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(marked).toEqual([]);
  });
});

describe('architecture: nothing an opened instance exposes can sign with the issuer key', () => {
  let ca: CaInstance;
  beforeAll(async () => {
    ca = await createTestCa();
  });
  afterAll(async () => {
    await ca?.close();
  });

  it('ok/no object reachable from the instance (properties and getters, walked deep) has a sign() for the issuer public key', () => {
    const issuerSpki = Buffer.from(ca.intermediate.publicKey.rawData);
    const signers: string[] = [];
    const seen = new Set<object>();
    const visit = (v: unknown, path: string, depth: number): void => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v) || depth > 12) return;
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
      seen.add(v);
      const o = v as Record<string, unknown>;
      const spki = safeGet(o, 'publicKeySpki');
      if (typeof safeGet(o, 'sign') === 'function' && spki instanceof Uint8Array && issuerSpki.equals(spki)) signers.push(path);
      for (const key of propertyNames(o)) visit(safeGet(o, key), `${path}.${key}`, depth + 1);
      if (v instanceof Map) for (const [k, x] of v) visit(x, `${path}[${String(k)}]`, depth + 1);
    };
    visit(ca, 'ca', 0);
    expect(seen.size).toBeGreaterThan(20); // the walk did reach into the instance
    expect(signers).toEqual([]);
  });
});

/** Own property names and the getters of every prototype up to Object, without functions' own internals. */
function propertyNames(o: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = o; p && p !== Object.prototype && p !== Function.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, n)!;
      if (p === o || d.get) names.add(n);
    }
  }
  for (const skip of ['constructor', 'prototype', 'caller', 'callee', 'arguments']) names.delete(skip);
  return [...names];
}

function safeGet(o: Record<string, unknown>, key: string): unknown {
  try {
    return o[key];
  } catch {
    return undefined;
  }
}
