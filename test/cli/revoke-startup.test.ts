import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from '../../cli/command-table.ts';
import { initInstance, openInstance } from '../../src/index.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { PKI_BIN, pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * `pki revoke` beside a busy server (#21): every module Node loads is CPU the revocation waits for
 * (through tsx's loader thread), so the command loads only its own code and src/cli-revoke.ts's
 * graph: config, store, serials, the keyless revoker, and no X.509 library. These run the real CLI with a loader hook
 * that logs each module it loads.
 */
const NEVER = [
  /\/src\/index\.ts$/,
  /\/src\/(acme|http|est|oauth|identity|status|keystore|metrics|health|client|resource-server)\//,
  /\/node_modules\/(hono|@hono\/node-server|jose|acme-client|prom-client|pkcs11js|pkijs)\//,
  // X.509: the issuer's key id and a --cert serial come from Node's own reader (src/x509/key-id.ts).
  /\/node_modules\/(@peculiar\/|reflect-metadata|asn1js)/,
  /\/src\/x509\/(x509|certificate)\.ts$/,
];

describe('pki revoke loads only what revoking needs', () => {
  const tmp = tempDir();
  const dir = join(tmp, 'ca');
  const hook = join(tmp, 'log-hook.mjs');
  const preload = join(tmp, 'log-preload.mjs');
  let serial: string;
  let certFile: string;

  /** Runs `pki args` and returns what it printed and the modules it loaded. */
  function loaded(args: string[]) {
    const log = join(tmp, `modules-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(log, '');
    // The sources' module graph (PKI_FROM_SOURCE): the prebuilt CLI loads chunks instead, checked in prebuilt-commands.test.ts.
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, PKI_BIN, ...args], { encoding: 'utf8', env: { ...process.env, PKI_PASSPHRASE: '', MODULE_LOG: log, PKI_FROM_SOURCE: '1' } });
    return { ...r, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  beforeAll(async () => {
    writeFileSync(hook, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(process.env.MODULE_LOG, url + '\\n'); return next(url, context); }\n`);
    writeFileSync(preload, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`);
    await initInstance({ dir, passphrase: TEST_PASSPHRASE });
    const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
    const issue = async (n: string) => ca.authority.issue((await makeCsr({ cn: n, sans: [{ type: 'dns', value: n }] })).pem);
    serial = (await issue('s.example')).serial;
    const byFile = await issue('f.example');
    certFile = join(tmp, 'f.pem');
    writeFileSync(certFile, byFile.pem);
    await ca.close();
  });

  it('ok/by --serial and by --cert it revokes without loading the server, protocol or agent code', () => {
    for (const args of [['--serial', serial], ['--cert', certFile]]) {
      const r = loaded(['revoke', '--dir', dir, ...args]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^revoked [0-9a-f]+ at /);
      expect(r.modules.some((m) => m.endsWith('/src/instance/revoker.ts'))).toBe(true);
      expect(r.modules.filter((m) => NEVER.some((re) => re.test(m)))).toEqual([]);
    }
  });

  it('fail/a refused revocation still names its error, and a server command does load the full surface', () => {
    const r = loaded(['revoke', '--dir', dir, '--serial', '0badc0de']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pki: no certificate with serial 0badc0de/);
    // The check sees what it must catch: `pki certs` goes through src/index.ts and so loads ACME.
    const certs = loaded(['certs', 'stats', '--dir', dir]);
    expect(certs.status).toBe(0);
    expect(certs.modules.filter((m) => NEVER.some((re) => re.test(m))).length).toBeGreaterThan(0);
  });

  it('ok/a named command loads alone; help, `help x`, unknown names and a bare `pki` get every command', () => {
    expect(commandsFor(['node', 'pki', 'revoke', '--dir', 'x'])).toEqual(['revoke']);
    expect(commandsFor(['node', 'pki', 'certs', 'list'])).toEqual(['certs']);
    for (const argv of [['--help'], ['help', 'revoke'], ['revok'], [], ['-V']]) expect(commandsFor(['node', 'pki', ...argv])).toEqual(Object.keys(COMMANDS));
    const help = pki(['--help']);
    expect(help.status).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const typo = pki(['revok', '--dir', dir]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/Did you mean revoke\?/);
    const own = pki(['revoke', '--help']);
    expect(own.status).toBe(0);
    expect(own.stdout).toMatch(/Usage: pki revoke \[options\]/);
  });
});
