import { copyFileSync, cpSync, existsSync, openSync, rmSync, statSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { PKI_BIN, pki } from '../helpers/cli.ts';
import { makeCsr } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

const PASS = { PKI_PASSPHRASE: 'database-errors-test' };
const work = tempDir();
const pristine = join(work, 'ca');
const csr = join(work, 'x.csr');

/** A copy of the instance with its database damaged one way. */
function damaged(name: string, damage: (db: string) => void): string {
  const dir = join(work, name);
  cpSync(pristine, dir, { recursive: true });
  for (const f of ['pki.db-wal', 'pki.db-shm']) rmSync(join(dir, f), { force: true });
  damage(join(dir, 'pki.db'));
  return dir;
}

/** The CLI without blocking, killed after 30 s (a serve that starts would never end). */
function run(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PKI_BIN, ...args], { env: { ...process.env, ...PASS }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Where a table's root page starts in the file. */
function pageOf(path: string, table: string): number {
  const db = new Database(path, { readonly: true });
  try {
    const { rootpage } = db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table) as { rootpage: number };
    return (rootpage - 1) * (db.pragma('page_size', { simple: true }) as number);
  } finally {
    db.close();
  }
}

function overwrite(path: string, at: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, bytes, 0, bytes.length, at);
  closeSync(fd);
}

describe('a damaged database is named as such by every command', () => {
  it('fail/garbage, truncated, emptied or a damaged page: `pki: database <path>: …`, exit 1, never "cannot listen"', async () => {
    expect(pki(['init', '--dir', pristine], PASS).status).toBe(0);
    writeFileSync(csr, (await makeCsr({ sans: [{ type: 'dns', value: 'x.internal' }] })).pem);
    for (let i = 0; i < 3; i++) expect(pki(['issue', '--dir', pristine, '--csr', csr], PASS).status).toBe(0);
    // Checkpoint the WAL into the main file (a backup is a plain copy), so page damage means something.
    const plain = join(work, 'plain.db');
    expect(pki(['backup', '--dir', pristine, '--out', plain]).status).toBe(0);
    copyFileSync(plain, join(pristine, 'pki.db'));
    const size = statSync(join(pristine, 'pki.db')).size;

    const cases = {
      garbage: damaged('garbage', (db) => writeFileSync(db, randomBytes(8192))),
      truncated: damaged('truncated', (db) => truncateSync(db, Math.floor(size / 2))),
      empty: damaged('empty', (db) => writeFileSync(db, '')),
      // The ocsp_responses table's root page: the open succeeds and serve meets the damage while starting (it said "cannot listen").
      page: damaged('page', (db) => overwrite(db, pageOf(db, 'ocsp_responses'), randomBytes(4096))),
    };
    for (const [kind, dir] of Object.entries(cases)) {
      const db = join(dir, 'pki.db');
      const commands = [
        ['serve', '--dir', dir, '--http-port', '0', '--no-acme'],
        ['issue', '--dir', dir, '--csr', csr],
        ['certs', 'list', '--dir', dir],
        ['audit', 'verify', '--dir', dir],
        ['backup', '--dir', dir, '--out', join(work, `${kind}.bak`)],
        ['eab', 'list', '--dir', dir],
      ];
      for (const args of commands) {
        const r = await run(args);
        const where = `${kind}: pki ${args[0]} → ${r.stderr}`;
        // Commands that never read the damaged page may well succeed.
        if (kind === 'page' && args[0] !== 'serve' && r.status === 0) continue;
        expect(r.status, where).toBe(1);
        expect(r.stderr, where).toMatch(new RegExp(`^pki: database ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm'));
        expect(r.stderr, where).not.toMatch(/cannot listen|unexpected error/);
      }
      if (kind !== 'page') expect(existsSync(join(work, `${kind}.bak`))).toBe(false);
    }
  }, 240_000);
});
