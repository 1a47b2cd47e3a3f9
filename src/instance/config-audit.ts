import { createHash } from 'node:crypto';
import type { Config } from '../config/config.ts';
import type { Store } from '../store/store.ts';

/** Fields that must never reach the audit trail, whatever a key store's settings hold. */
const SECRET = /pin$|passphrase$|secret|password/i;

/** The config as audited: parsed (defaults filled in), secrets redacted, keys sorted so equal configs hash alike. */
export function auditableConfig(config: Config): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, SECRET.test(k) ? '(redacted)' : walk((v as Record<string, unknown>)[k])]),
    );
  };
  return walk(config) as Record<string, unknown>;
}

/** Dotted paths whose values differ between two audited configs. */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
}

/**
 * pki.json is edited by hand, so the CA notices changes itself: at startup the effective
 * config is compared with the last one the audit trail recorded. The first time it is
 * recorded as `config.loaded`; afterwards any difference is a `config.changed` row naming
 * the changed fields and holding the new config. Returns the changed paths (empty: unchanged).
 */
export function auditConfig(store: Store, config: Config, o: { at: Date; actor: string; file: string }): { action: 'config.loaded' | 'config.changed' | null; changed: string[] } {
  const current = auditableConfig(config);
  const sha256 = createHash('sha256').update(JSON.stringify(current)).digest('hex');
  return store.transaction(() => {
    const last = store.audit.list({ target: o.file }).filter((e) => e.action === 'config.loaded' || e.action === 'config.changed').at(-1);
    if (last && last.details.sha256 === sha256) return { action: null, changed: [] };
    const changed = last ? changedPaths(last.details.config, current) : [];
    const action = last ? 'config.changed' : 'config.loaded';
    store.audit.append({ at: o.at, action, actor: o.actor, target: o.file, details: { sha256, ...(last ? { changed, previousSha256: last.details.sha256 } : {}), config: current } });
    return { action, changed };
  });
}
