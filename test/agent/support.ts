import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildBundle, buildSea, ROOT } from '../../scripts/build-agent.ts';
import { pki, pkiBackground } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';

export interface AgentArtifacts {
  dir: string;
  bundle: string;
  sea: string;
  packages: string[];
}

/** A hash of everything a build reads, so the tests of one tree share one build (in the temp dir) and a change rebuilds. */
function sourceHash(): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  for (const d of ['src', 'cli', 'packaging', 'man']) walk(join(ROOT, d));
  for (const f of ['scripts/build-agent.ts', 'scripts/package-deb.ts', 'package.json', 'package-lock.json']) h.update(f).update(readFileSync(join(ROOT, f)));
  const head = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout ?? '';
  return h.update(head).update(process.execPath).update(process.version).digest('hex').slice(0, 16);
}

/** Builds (or reuses) the bundle and the single executable; a build goes to a fresh directory renamed into place, so no test file sees half of one. */
export async function agentArtifacts(): Promise<AgentArtifacts> {
  const dir = join(tmpdir(), `pki-agent-build-${sourceHash()}`);
  const manifest = join(dir, 'packages.json');
  // One build at a time (test files run in parallel on two cores): the others wait for it.
  const lock = `${dir}.lock`;
  while (!existsSync(manifest)) {
    try {
      mkdirSync(lock);
    } catch {
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 300_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (existsSync(manifest)) break;
      const staging = mkdtempSync(`${dir}.staging-`);
      const b = await buildBundle(staging);
      await buildSea(b.file, staging);
      writeFileSync(join(staging, 'packages.json'), JSON.stringify(b.packages));
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
      pruneOldBuilds(dir);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return { dir, bundle: join(dir, 'pki-agent.cjs'), sea: join(dir, 'pki-agent'), packages: JSON.parse(readFileSync(manifest, 'utf8')) as string[] };
}

/** Builds of earlier trees (each ~100 MB with the executable) older than an hour go. */
function pruneOldBuilds(keep: string): void {
  for (const n of readdirSync(tmpdir())) {
    const p = join(tmpdir(), n);
    if (!n.startsWith('pki-agent-build-') || p === keep) continue;
    if (Date.now() - statSync(p).mtimeMs > 3_600_000) rmSync(p, { recursive: true, force: true });
  }
}

export interface ServedCa {
  directoryUrl: string;
  httpUrl: string;
  rootFile: string;
  /** The port the CA's http-01 validation connects to: enroll's built-in responder listens there. */
  http01Port: number;
}

/** A real `pki serve` (init + serve in a child process, 127.0.0.1 only) for the file's tests. */
export function useServedCa(work: string): ServedCa {
  const ca = {} as ServedCa;
  let stop: (() => Promise<unknown>) | undefined;
  beforeAll(async () => {
    const dir = join(work, 'ca');
    const httpPort = await freePort();
    ca.http01Port = await freePort();
    const pass = { PKI_PASSPHRASE: 'agent-test' };
    const init = pki(['init', '--dir', dir, '--url', `http://127.0.0.1:${httpPort}`, '--no-require-eab'], pass);
    if (init.status !== 0) throw new Error(`pki init failed: ${init.stderr}`);
    const srv = pkiBackground(['serve', '--dir', dir, '--http-port', String(httpPort), '--acme-port', '0', '--http01-port', String(ca.http01Port)], /serve\.started/, pass);
    const line = JSON.parse(await srv.started) as { http: string; acmeDirectory: string };
    ca.directoryUrl = line.acmeDirectory;
    ca.httpUrl = line.http;
    ca.rootFile = join(work, 'root.pem');
    writeFileSync(ca.rootFile, readFileSync(join(dir, 'ca/root.pem')));
    stop = async () => {
      srv.child.kill('SIGTERM');
      await srv.exited;
    };
  });
  afterAll(async () => {
    await stop?.();
  });
  return ca;
}

/**
 * Runs an agent command the way a host would: in `cwd` (no node_modules), with only `env`.
 * Asynchronous: the `pki serve` child logs to a pipe this process must keep reading.
 */
export function runAgent(command: string[], o: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A directory with nothing in it and no node_modules above it to fall back on (the temp dir is outside the repository). */
export function bareDir(parent: string, name: string): string {
  const d = join(parent, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** systemd-analyze verify of one unit file: exit 0 and nothing on stderr (an unknown key only warns, so a warning counts as a failure). */
export function verifyUnit(file: string): { status: number | null; stderr: string } {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  return { status: r.status, stderr: (r.stderr ?? '').trim() };
}
