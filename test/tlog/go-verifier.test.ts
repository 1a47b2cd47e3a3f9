import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { ed25519Raw, signedNote, verifierKey } from '../../src/tlog/note.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { runAsync } from '../helpers/run-async.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, runStatus } from '../helpers/tools.ts';

/**
 * Go's golang.org/x/mod/sumdb/note and sumdb/tlog (Debian golang-golang-x-mod-dev) read pki's log
 * over HTTP: the checkpoint's signature, every entry proved from the C2SP tiles (which Go's
 * TileHashReader checks against the signed root), the JSON inclusion proof for a serial and a
 * consistency proof from an older checkpoint; a forged checkpoint is refused.
 */
const haveGo = hasTool('go', ['version']);
const dir = tempDir('pki-goverify-');
const bin = join(dir, 'goverify');
let ca: CaInstance;
let server: RunningServer;
let vkey: string;
let serial: string;
let oldNote: string;

beforeAll(async () => {
  if (!haveGo) return;
  const src = fileURLToPath(new URL('./goverify', import.meta.url));
  const built = runStatus('go', ['build', '-o', bin, '.'], { cwd: src, env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(dir, 'gocache'), GOFLAGS: '' } });
  if (built.status !== 0) throw new Error(`go build failed: ${built.stderr}`);
  ca = await createTestCa();
  server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: false });
  const issue = async (i: number) => (await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: `g${i}.go.test` }] })).pem)).serial;
  serial = await issue(0);
  oldNote = (await ca.authority.log!.signNow())!.note;
  // Past one full tile of 256 leaves, so full (immutable) and partial tiles and level-1 tiles are all read.
  for (let i = 1; i < 300; i++) await issue(i);
  await ca.authority.revoke(serial, { reason: 'superseded' });
  await ca.authority.log!.signNow();
  vkey = ca.authority.log!.verifierKey;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await ca?.close();
});

const goverify = (...args: string[]) => runAsync(bin, ['-url', `${server.httpUrl}/log`, '-vkey', vkey, ...args], { timeoutMs: 60_000 });

describe.skipIf(!haveGo)('Go sumdb/note + sumdb/tlog verify pki\'s log', () => { // skips only locally: the tool check throws when CI is set
  // skips only locally: hasTool() throws when CI is set
  it('ok/checkpoint signature, every entry from tiles, inclusion by serial and consistency from an older checkpoint', async () => {
    const old = join(dir, 'old.note');
    writeFileSync(old, oldNote);
    const r = await goverify('-serial', serial, '-old', old);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/OK checkpoint signature, size (\d+)/);
    expect(r.stdout).toMatch(/OK \d{3} entries proved from tiles/);
    expect(r.stdout).toContain(`OK inclusion of ${serial}`);
    expect(r.stdout).toMatch(/OK consistency \d+ → \d+/);
  }, 60_000);

  it('bad/a forged checkpoint (edited size, or signed by another key under the same name) is refused by Go', async () => {
    const real = await (await fetch(`${server.httpUrl}/log/checkpoint`)).text();
    const edited = join(dir, 'edited.note');
    writeFileSync(edited, real.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`));
    const a = await goverify('-note', edited);
    expect(a.status).toBe(1);
    expect(a.stderr).toMatch(/FAIL note\.Open: .*(invalid signature|verification failure)/);

    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const text = real.slice(0, real.indexOf('\n\n') + 1);
    const origin = text.split('\n')[0]!;
    const forged = join(dir, 'forged.note');
    writeFileSync(forged, signedNote(text, origin, ed25519Raw(publicKey.export({ type: 'spki', format: 'der' })), sign(null, Buffer.from(text), privateKey)));
    const b = await goverify('-note', forged);
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/FAIL note\.Open: /);
    // The same forgery verifies under the forger's own key: the refusal is the key, not the format.
    const c = await runAsync(bin, ['-vkey', verifierKey(origin, ed25519Raw(publicKey.export({ type: 'spki', format: 'der' }))), '-note', forged]);
    expect(c.stdout).toBe('OK note opens\n');
  }, 60_000);

  it('bad/malformed tile paths, unknown serials and sizes past the tree are 4xx, never 5xx', async () => {
    const cases: [string, number][] = [
      ['tile/0/000', 200],
      ['tile/0/001.p/44', 200],
      ['tile/1/000.p/1', 200],
      ['tile/0/001', 404],
      ['tile/0/x000/001', 400],
      ['tile/0/1', 400],
      ['tile/8/000', 400],
      ['tile/0/000.p/256', 400],
      ['tile/entries/009', 404],
      ['proof/inclusion?serial=nothex', 400],
      ['proof/inclusion?serial=0123', 404],
      ['proof/inclusion', 400],
      ['proof/consistency?from=1&to=99999', 400],
      ['proof/consistency?from=x', 400],
      ['proof/consistency?from=9&to=3', 400],
      ['proof/consistency', 400],
    ];
    for (const [path, status] of cases) expect((await fetch(`${server.httpUrl}/log/${path}`)).status, path).toBe(status);
    const full = await fetch(`${server.httpUrl}/log/tile/0/000`);
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(bytes.length).toBe(256 * 32);
    // Again, now from the listener's cache of full tiles (withTileFastPath): the same bytes and headers.
    const cached = await fetch(`${server.httpUrl}/log/tile/0/000`);
    expect(cached.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await cached.arrayBuffer())).toEqual(bytes);
    expect((await fetch(`${server.httpUrl}/log/vkey`).then((r) => r.text())).trim()).toBe(vkey);
  });
});
