/**
 * Start-up cost of the workload agent (issue #19): N runs of a not-due `renew` (the run a timer
 * makes every 15 minutes on every host) for the bundle, the single executable and `pki` from
 * source, against a local `pki serve`; prints median and p90 wall time, median CPU time (GNU
 * time, /usr/bin/time) and the artifacts' sizes. A not-due run reuses the last ARI window and
 * revocation verdict while fresh (#19), so one row drops them from state.json before each run.
 *
 *   npx tsx scripts/bench-agent.ts [runs=20]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildBundle, buildSea, ROOT } from './build-agent.ts';

const RUNS = Number(process.argv[2] ?? 20);
const work = mkdtempSync(join(tmpdir(), 'pki-bench-agent-'));
const PKI = join(ROOT, 'bin/pki.js');
const env = { ...process.env, PKI_PASSPHRASE: 'bench-agent-passphrase' };

function freePortSync(): number {
  return Number(spawnSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: 'utf8' }).stdout.trim());
}

const ms = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

try {
  const bundle = await buildBundle(join(work, 'dist'));
  const sea = await buildSea(bundle.file, join(work, 'dist'));
  const httpPort = freePortSync();
  const http01 = freePortSync();
  const init = spawnSync(process.execPath, [PKI, 'init', '--dir', join(work, 'ca'), '--url', `http://127.0.0.1:${httpPort}`, '--no-require-eab'], { env, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`pki init: ${init.stderr}`);
  // The server logs to a file: a pipe this process stops reading during spawnSync would fill and stall it.
  const logFile = join(work, 'serve.log');
  const server = spawn(process.execPath, [PKI, 'serve', '--dir', join(work, 'ca'), '--http-port', String(httpPort), '--acme-port', '0', '--http01-port', String(http01)], { env, stdio: ['ignore', openSync(logFile, 'w'), 'ignore'] });
  let directory = '';
  for (const t0 = Date.now(); !directory; await new Promise((r) => setTimeout(r, 100))) {
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('serve.started'));
    if (line) directory = (JSON.parse(line) as { acmeDirectory: string }).acmeDirectory;
    if (Date.now() - t0 > 30_000 || server.exitCode !== null) throw new Error(`pki serve did not start: ${readFileSync(logFile, 'utf8')}`);
  }
  const out = join(work, 'id');
  const e = spawnSync(process.execPath, [bundle.file, 'enroll', '--server', directory, '--root', join(work, 'ca/ca/root.pem'), '--ip', '127.0.0.1', '--out', out, '--http-port', String(http01)], { encoding: 'utf8' });
  if (e.status !== 0) throw new Error(e.stderr);
  const stateFile = join(out, 'state.json');
  const dropCache = () => {
    const { cache: _, ...state } = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(stateFile, JSON.stringify(state));
  };
  const kinds = [
    { name: 'floor: `node -e 0` (no agent)', argv: [process.execPath, '-e', '0'], args: [] as string[] },
    { name: 'single executable, `--version` only', argv: [sea], args: ['--version'] },
    { name: 'bundle (node pki-agent.cjs)', argv: [process.execPath, bundle.file] },
    { name: 'single executable (pki-agent)', argv: [sea] },
    // The cached ARI window and revocation verdict dropped before each run: what a run pays once they are stale.
    { name: 'single executable, answers not cached (asks ARI, OCSP, CRL)', argv: [sea], before: dropCache },
    { name: 'pki from source (node bin/pki.js, tsx)', argv: [process.execPath, PKI] },
  ].map((k) => ({ args: ['renew', '--out', out, '--json'], before: () => {}, ...k }));
  const rows: string[] = [];
  for (const k of kinds) {
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      k.before();
      const t0 = performance.now();
      // GNU time reports the child's CPU seconds (user + system): less swayed by a busy host than wall time.
      const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', k.argv[0]!, ...k.argv.slice(1), ...k.args], { encoding: 'utf8' });
      times.push(performance.now() - t0);
      if (r.status !== 0 || (k.args[0] === 'renew' && !r.stdout.includes('"not-due"'))) throw new Error(`${k.name}: ${r.stderr}${r.stdout}`);
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr)!;
      cpu.push((Number(m[1]) + Number(m[2])) * 1000);
    }
    rows.push(`| ${k.name} | ${ms(times, 0.5).toFixed(0)} ms | ${ms(times, 0.9).toFixed(0)} ms | ${ms(cpu, 0.5).toFixed(0)} ms |`);
  }
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  const size = (f: string) => `${(statSync(f).size / 1e6).toFixed(1)} MB`;
  process.stdout.write(`${RUNS} runs each (wall time of the whole process; CPU = user + system):\n| artifact | median | p90 | CPU median |\n|---|---|---|---|\n${rows.join('\n')}\n\n`);
  process.stdout.write(`Sizes: bundle ${size(bundle.file)} (${(gzipSync(readFileSync(bundle.file)).length / 1e6).toFixed(2)} MB gzip), single executable ${size(sea)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
