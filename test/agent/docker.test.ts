import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runStatus } from '../helpers/tools.ts';

/**
 * The Dockerfile (issue #19) where docker cannot run: its shape (build stage, slim runtime, non-root,
 * a volume, a /readyz health check), and its entry point and health check command run as they
 * would in the image, against a temp instance on 127.0.0.1.
 */
const ROOT = join(import.meta.dirname, '../..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const ENTRYPOINT = join(ROOT, 'packaging/docker/entrypoint.sh');
const work = tempDir('pki-docker-');

/** Runs the entry point until `serve.started`; returns the line and a stop function. */
function entrypoint(env: NodeJS.ProcessEnv, args: string[]) {
  const child = spawn(ENTRYPOINT, args, { env: { ...process.env, PKI_HOME: ROOT, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const started = new Promise<{ http: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('serve.started'));
      if (line) resolve(JSON.parse(line) as { http: string });
    });
    child.once('exit', (code) => reject(new Error(`entrypoint exited ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { started, stop: async () => (child.kill('SIGTERM'), await exited), output: () => out };
}

describe('Dockerfile', () => {
  it('ok/multi-stage: npm ci in a build stage, node:20 slim runtime, non-root, a volume for the instance, HEALTHCHECK on /readyz', () => {
    const from = [...DOCKERFILE.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(from).toEqual(['node:20-bookworm', 'node:20-bookworm-slim']);
    expect(DOCKERFILE).toMatch(/^RUN npm ci /m);
    expect(DOCKERFILE).toMatch(/^USER node$/m);
    expect(DOCKERFILE).toMatch(/^VOLUME \/var\/lib\/pki$/m);
    expect(DOCKERFILE).toMatch(/^HEALTHCHECK .*\n\s+CMD .*\/readyz/m);
    for (const f of ['bin', 'cli', 'src', 'packaging/docker/entrypoint.sh', 'package-lock.json', 'tsconfig.json']) expect(existsSync(join(ROOT, f)), f).toBe(true);
  });

  it('ok/the entry point inits the instance once, serves it, the health check passes, SIGTERM stops it with 0; a second start reuses the instance', async () => {
    const port = await freePort();
    const env = { PKI_DIR: join(work, 'data/ca'), PKI_URL: `http://127.0.0.1:${port}`, PKI_PASSPHRASE_FILE: join(work, 'none') };
    // In the image the host is 0.0.0.0; here the test's last --host wins (127.0.0.1 only).
    const args = ['--host', '127.0.0.1', '--http-port', String(port), '--acme-port', '0'];
    const first = entrypoint(env, args);
    const line = await first.started;
    expect(line.http).toBe(`http://127.0.0.1:${port}`);
    const check = /CMD \["node", "-e", "(.*)"\]/.exec(DOCKERFILE)![1]!.replaceAll('\\"', '"').replace('127.0.0.1:9080', `127.0.0.1:${port}`);
    expect(runStatus(process.execPath, ['-e', check]).status).toBe(0);
    expect(await first.stop()).toBe(0);
    expect(runStatus(process.execPath, ['-e', check]).status).toBe(1); // and the check does fail when nothing answers
    const root = readFileSync(join(env.PKI_DIR, 'ca/root.pem'), 'utf8');
    const second = entrypoint(env, args);
    await second.started;
    expect(readFileSync(join(env.PKI_DIR, 'ca/root.pem'), 'utf8')).toBe(root);
    expect(await second.stop()).toBe(0);
  });
});
