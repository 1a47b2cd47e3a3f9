import { execFile } from 'node:child_process';

/**
 * Runs a command without blocking the event loop, for clients (openssl ocsp, curl) that talk
 * to a server running in the same process as the test: spawnSync would deadlock them.
 */
export function runAsync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', env: opts.env, timeout: opts.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}
