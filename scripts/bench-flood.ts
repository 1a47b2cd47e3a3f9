/**
 * scripts/bench-flood.ts: `pki serve` memory under a flood (#21). Starts a fresh instance's
 * `pki serve` (a child process, as operators run it), drives wrk at each path in turn and samples
 * the server's RSS (/proc) and V8 heap (/metrics) every few seconds, then idles and samples again.
 * Memory must stay flat: a server holds its memory whatever the request mix.
 *
 *   node --import tsx scripts/bench-flood.ts [--seconds 60] [--paths /nope,/healthz,/ca/root.pem] [--connections 32]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../test/helpers/ports.ts';

const PKI = new URL('../bin/pki.js', import.meta.url).pathname;

export interface FloodSample {
  at: number;
  path: string;
  rssMiB: number;
  heapUsedMiB: number;
}

export interface FloodResult {
  samples: FloodSample[];
  requestsPerSecond: Record<string, number>;
  /** RSS once ready (before any load), the highest sampled, and after idling. */
  startRssMiB: number;
  maxRssMiB: number;
  idleRssMiB: number;
}

const rssMiB = (pid: number) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024);

async function heapUsedMiB(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Math.round(Number(/^pki_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 1048576);
}

function wrk(url: string, seconds: number, connections: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    w.stdout.on('data', (d: Buffer) => (out += d));
    w.on('error', reject);
    w.on('close', () => resolve(Number(/Requests\/sec:\s+(\S+)/.exec(out)?.[1] ?? 0)));
  });
}

async function run(cmd: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, [PKI, ...cmd], { env, stdio: 'ignore' });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pki ${cmd[0]} exited ${code}`))));
  });
}

/** Floods each path for `seconds` (samples every `everyS`), then idles `idleS` and samples once more. */
export async function flood(o: { seconds: number; paths: string[]; connections?: number; everyS?: number; idleS?: number }): Promise<FloodResult> {
  const work = mkdtempSync(join(tmpdir(), 'bench-flood-'));
  const env = { ...process.env, PKI_PASSPHRASE: 'bench-flood-passphrase' };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await run(['init', '--dir', join(work, 'ca'), '--url', base], env);
  const serve = spawn(process.execPath, [PKI, 'serve', '--dir', join(work, 'ca'), '--http-port', String(port), '--no-acme'], { env, stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      if (i > 100) throw new Error('pki serve did not become ready');
      if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const samples: FloodSample[] = [];
    const t0 = performance.now();
    const sample = async (path: string) => samples.push({ at: Math.round((performance.now() - t0) / 1000), path, rssMiB: rssMiB(serve.pid!), heapUsedMiB: await heapUsedMiB(base) });
    await sample('start');
    const requestsPerSecond: Record<string, number> = {};
    for (const path of o.paths) {
      const load = wrk(base + path, o.seconds, o.connections ?? 32);
      const timer = setInterval(() => void sample(path), (o.everyS ?? 5) * 1000);
      requestsPerSecond[path] = await load;
      clearInterval(timer);
    }
    await new Promise((r) => setTimeout(r, (o.idleS ?? 5) * 1000));
    await sample('idle');
    return { samples, requestsPerSecond, startRssMiB: samples[0]!.rssMiB, maxRssMiB: Math.max(...samples.map((s) => s.rssMiB)), idleRssMiB: samples.at(-1)!.rssMiB };
  } finally {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('close', r));
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const arg = (name: string, def: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1]! : def;
  };
  const r = await flood({ seconds: Number(arg('seconds', '60')), paths: arg('paths', '/nope,/healthz,/ca/root.pem').split(','), connections: Number(arg('connections', '32')), everyS: Math.min(10, Number(arg('seconds', '60'))) });
  for (const s of r.samples) process.stdout.write(`t=${s.at}s ${s.path} rss=${s.rssMiB} MiB heapUsed=${s.heapUsedMiB} MiB\n`);
  process.stdout.write(`${JSON.stringify({ requestsPerSecond: r.requestsPerSecond, startRssMiB: r.startRssMiB, maxRssMiB: r.maxRssMiB, idleRssMiB: r.idleRssMiB })}\n`);
}
