import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { hasTool, run } from './tools.ts';
import { tempDir } from './tmp.ts';

export const SOFTHSM_MODULE = process.env.PKI_TEST_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';

export interface TestToken {
  module: string;
  label: string;
  pin: string;
  soPin: string;
  /** The softhsm2.conf this process (and child processes given `env`) use. */
  conf: string;
  /** The token directory that conf names (every token of this test process is a folder in it). */
  tokenDir: string;
  /** Environment for child processes (pki, pkcs11-tool) that must see the same tokens. */
  env: NodeJS.ProcessEnv;
}

/** Whether SoftHSM2 (library and softhsm2-util) is here; under CI a missing one is a failure. */
export function hasSoftHsm(): boolean {
  const tool = hasTool('softhsm2-util', ['--version']);
  if (tool && !existsSync(SOFTHSM_MODULE)) {
    if (process.env.CI) throw new Error(`${SOFTHSM_MODULE} is required in CI but missing`);
    return false;
  }
  return tool;
}

let conf: string | null = null;

/**
 * Points SoftHSM2 at a throwaway token directory for this test process. It must run
 * before the library is first initialized here (SoftHSM reads SOFTHSM2_CONF then);
 * vitest's forks pool gives each test file its own process, so each file gets its own.
 */
function softHsmConf(): string {
  if (conf) return conf;
  const dir = tempDir('pki-softhsm-');
  mkdirSync(join(dir, 'tokens'));
  conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  return conf;
}

/** A fresh token in the throwaway directory, initialized with softhsm2-util (it lands in a new slot: find it by label). */
export function createTestToken(label = `pki-${randomBytes(4).toString('hex')}`): TestToken {
  const file = softHsmConf();
  const pin = `user-${randomBytes(6).toString('hex')}`;
  const soPin = `so-${randomBytes(6).toString('hex')}`;
  const env = { ...process.env, SOFTHSM2_CONF: file };
  run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { env });
  return { module: SOFTHSM_MODULE, label, pin, soPin, conf: file, tokenDir: join(file, '..', 'tokens'), env };
}

/** Closes every session this process has on the token, from a handle of its own (as a flaky HSM link would). */
export function closeAllSessionsUnderneath(token: TestToken): void {
  const p11 = new pkcs11js.PKCS11();
  p11.load(token.module);
  try {
    p11.C_Initialize();
  } catch {
    // Already initialized by the instance's key store.
  }
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === token.label)!;
  p11.C_CloseAllSessions(slot);
}
