import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Whether an external tool is installed. Locally a missing tool skips its tests;
 * under CI (CI set) a missing tool is a failure, so no test silently stops running.
 */
export function hasTool(name: string, args: string[] = ['version']): boolean {
  const r = spawnSync(name, args, { stdio: 'ignore' });
  const found = !r.error;
  if (!found && process.env.CI) throw new Error(`${name} is required in CI but is not installed (.ci/run must install it)`);
  return found;
}

export function run(cmd: string, args: string[], opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs a command and returns exit status and both streams, never throwing on a non-zero exit. */
export function runStatus(cmd: string, args: string[], opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, cwd: opts.cwd, env: opts.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
