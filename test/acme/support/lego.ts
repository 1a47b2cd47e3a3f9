import { spawn } from 'node:child_process';

/** Runs lego trusting `rootFile` (LEGO_CA_CERTIFICATES); resolves with its exit code and both streams, never rejects. */
export function runLego(rootFile: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('lego', args, { env: { ...process.env, LEGO_CA_CERTIFICATES: rootFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}
