import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A server under test: where its directory is, which CA to trust, and its PID for CPU accounting. */
export interface ServerUnderTest {
  name: string;
  directoryUrl: string;
  caPem: string;
  pid: number;
  /** CPU of everything serving (several replicas), when it is not just `pid`'s. */
  cpu?: () => { user: number; system: number; total: number };
  /** CPU spent by the database server's processes (PostgreSQL), when there is one. */
  dbCpu?: () => number;
  stop(): Promise<void>;
}

const PKI_BIN = fileURLToPath(new URL('../../bin/pki.js', import.meta.url));

/**
 * BENCH_PIN=1: the server under test runs on CPU 0 and the load generator (this process, see
 * pinGenerator) on CPU 1, so the server's orders/s is not bounded by the generator's CPU on
 * the same cores. `taskset` execs the command, so the PID stays the server's.
 */
const pinned = (cmd: string, args: string[]): [string, string[]] => (process.env.BENCH_PIN ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args]);

/** BENCH_PIN=1: this process (client, http-01 responder, DNS) and its threads on CPU 1. */
export function pinGenerator(): void {
  if (!process.env.BENCH_PIN) return;
  const r = spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr}`);
}

/** utime and stime of a process (all its threads), in milliseconds (/proc/PID/stat fields 14 and 15). */
export function cpuMs(pid: number): { user: number; system: number; total: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const user = (Number(fields[11]) * 1000) / ticks;
  const system = (Number(fields[12]) * 1000) / ticks;
  return { user, system, total: user + system };
}

/** CPU milliseconds per thread ("main", or NAME/TID; /proc/PID/task/TID): where a process's CPU goes besides its main thread (GC helpers, libuv pool). */
export function threadCpuMs(pid: number): Map<string, number> {
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}/${tid}`;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / ticks);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function waitForLine(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => re.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
      if (out.length > 1_000_000) out = out.slice(-10_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${out}`)));
  });
}

const stopper = (child: ChildProcess) => async () => {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
};

/** `pki serve` on an instance made for the run (EAB off, validation pointed at the load generator). */
export async function startPki(o: { dir: string; passphrase: string; acmePort: number; http01Port: number; dnsServer: string; name?: string }): Promise<ServerUnderTest> {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(...pinned(process.execPath, [...nodeArgs, PKI_BIN, 'serve', '--dir', o.dir, '--http-port', '0', '--acme-port', String(o.acmePort), '--http01-port', String(o.http01Port), '--dns-server', o.dnsServer]), {
    env: { ...process.env, PKI_PASSPHRASE: o.passphrase },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await waitForLine(child, /serve\.started/, 'pki serve');
  // Keep draining the request log so the pipe never blocks the server (BENCH_SERVER_LOG=FILE keeps it, e.g. with --trace-deopt).
  if (process.env.BENCH_SERVER_LOG) child.stdout!.pipe(createWriteStream(process.env.BENCH_SERVER_LOG));
  else child.stdout!.resume();
  child.stderr!.resume();
  return { name: o.name ?? 'pki', directoryUrl: (JSON.parse(line) as { acmeDirectory: string }).acmeDirectory, caPem: readFileSync(join(o.dir, 'ca/root.pem'), 'utf8'), pid: child.pid!, stop: stopper(child) };
}

/** Debian's Pebble with the settings the issue names; its TLS certificate is a throwaway self-signed one. */
export async function startPebble(o: { workDir: string; port: number; http01Port: number; dnsServer: string }): Promise<ServerUnderTest> {
  const cert = join(o.workDir, 'pebble-cert.pem');
  const key = join(o.workDir, 'pebble-key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  const config = join(o.workDir, 'pebble.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: { listenAddress: `127.0.0.1:${o.port}`, managementListenAddress: `127.0.0.1:${o.port + 1}`, certificate: cert, privateKey: key, httpPort: o.http01Port, tlsPort: 5001, ocspResponderURL: '', externalAccountBindingRequired: false },
    }),
  );
  const child = spawn(...pinned('pebble', ['-config', config, '-dnsserver', o.dnsServer]), {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /Listening on/, 'pebble');
  child.stdout!.resume();
  child.stderr!.resume();
  return { name: 'pebble', directoryUrl: `https://127.0.0.1:${o.port}/dir`, caPem: readFileSync(cert, 'utf8'), pid: child.pid!, stop: stopper(child) };
}
