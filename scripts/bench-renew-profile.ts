/**
 * Where a renewal's server CPU goes (docs/benchmarks.md "Renewal CPU (#18), re-cut"): splits a
 * `perf record` of a scripts/bench-renew run by phase and by step. V8's own profiler cannot do it:
 * OpenSSL's handshake runs in libuv's poll phase, which --cpu-prof counts as idle.
 *
 *   BENCH_MARKS=/tmp/marks.jsonl BENCH_NODE_ARGS=--perf-basic-prof \
 *     perf record -F 1999 -g -k mono -o /tmp/renew.data -- scripts/bench-renew --orders 300 --renewals 600 --warmup 600
 *   perf script -i /tmp/renew.data -F pid,tid,time,ip,sym,dso > /tmp/renew.txt
 *   npx tsx scripts/bench-renew-profile.ts /tmp/renew.txt /tmp/marks.jsonl renewals=2.85 handshakes=1.03
 *
 * Each `phase=ms` names a phase of the marks file and the server CPU per operation bench-renew
 * printed for it; the phase's samples (every thread of the server's pid, as /proc counts them,
 * inside the phase's spans) are shared out
 * over the steps below in proportion. A sample goes to the first step whose rule matches any frame
 * of its stack (JavaScript frames resolved through --perf-basic-prof).
 */
import { readFileSync } from 'node:fs';

const [perfFile, marksFile, ...phases] = process.argv.slice(2);
if (!perfFile || !marksFile || phases.length === 0) throw new Error('usage: bench-renew-profile.ts PERF_SCRIPT.txt MARKS.jsonl PHASE=MS_PER_OP…');

const has = (s: string[], ...keys: string[]) => s.some((f) => keys.some((k) => f.includes(k)));
const leaf = (s: string[]) => s[0] ?? '';

/** The steps, in the order tried (TLS first: Node's TLS callbacks call into JavaScript). */
const STEPS: [string, (s: string[]) => boolean][] = [
  ['TLS: TLS 1.3 session tickets', (s) => has(s, 'new_session_ticket', 'construct_stateless_ticket', 'ssl_session_dup', 'i2d_SSL_SESSION', 'd2i_SSL_SESSION')],
  ['TLS: client certificate parse + chain lookup + CertificateVerify', (s) => has(s, 'tls_process_client_certificate', 'ssl_verify_cert_chain', 'X509_verify_cert', 'tls_process_cert_verify')],
  ['TLS: key exchange (X25519), server signature, records', (s) => !has(s, 'JS:') && has(s, 'x25519', 'tls_construct_cert_verify', 'SSL_do_handshake', 'state_machine', 'ssl3_', 'SSL_read', 'SSL_write', 'tls1_', 'tls13_', 'TLSWrap::ClearIn', 'TLSWrap::EncOut')],
  ['PKCS#7 certs-only + base64', (s) => has(s, 'pkcs7', 'base64Lines')],
  ['EST: CSR base64 + read (names, key)', (s) => has(s, 'est/csr.ts')],
  ['issuance: CSR read + signature verify (authority)', (s) => has(s, 'authority.ts') && has(s, 'x509/csr')],
  ['issuance: OCSP response pre-signed', (s) => has(s, 'src/status/')],
  ['issuance: certificate signed + verified', (s) => has(s, 'x509/certificate.ts', 'issuer-key')],
  ['issuance: rows, audit, tlog (two durable commits)', (s) => has(s, 'issuance.ts', 'src/store/', 'src/tlog/')],
  ['issuance: leaf template, lint, observers', (s) => has(s, 'src/authority/')],
  ['EST: current certificate (serial, bytes, status, lineage), names, key', (s) => has(s, 'est/reenroll.ts')],
  ['EST: routing, reply, log line', (s) => has(s, 'src/est/', 'http/est.ts')],
  ['HTTP: node:http, pipeline, request log, peer certificate', (s) => has(s, 'node:_http', 'acme-https/', 'request-log', 'llhttp', 'HTTPParser', 'body-limit', 'peerCertificateOf')],
  ['TLS: Node socket objects (TLSSocket, net.Socket)', (s) => has(s, 'node:_tls', 'node:net', 'node:tls', 'TLSWrap', 'TCPWrap', 'ConnectionWrap')],
  ['P-256 arithmetic, caller lost (handshake or JS signatures)', (s) => s.length < 4 && has(s, 'ecp_nistz256', 'bn_', 'BN_', 'sha256_block')],
  ['runtime: garbage collection', (s) => has(s, 'Heap::', 'Scavenger', 'MarkCompact', 'ConcurrentMarking', 'GCTracer', 'heap::', 'Sweeper')],
  ['runtime: JIT compiler threads', (s) => has(s, 'compiler::', 'Compile', 'Maglev')],
  ['runtime: kernel (TCP, fsync, epoll, scheduling)', (s) => /^(__x64|_raw|do_|tcp|ip_|sock|vfs|ext4|irq|finish_task|iowrite|filemap|handle_softirqs|entry_SYSCALL|jbd2|blk|schedule)/.test(leaf(s))],
  ['runtime: malloc/free, caller lost', (s) => has(s.slice(0, 2), 'malloc', 'free', 'unlink_chunk', '_int_')],
  ['runtime: other (V8 builtins, libuv, locks)', () => true],
];

interface Mark { pid: number; phase: string; from: string; to: string }
const marks = readFileSync(marksFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Mark);
const pid = marks[0]!.pid;

/** The samples of the server process: header line "PID/TID TIME:" then one frame a line ("addr symbol (dso)"). */
const samples: { t: number; stack: string[] }[] = [];
let current: { t: number; stack: string[] } | null = null;
for (const line of readFileSync(perfFile, 'utf8').split('\n')) {
  if (line.trim() === '') {
    current = null;
  } else if (!line.startsWith('\t')) {
    const [ids, time] = line.trim().split(/\s+/);
    current = Number(ids!.split('/')[0]) === pid ? { t: Number.parseFloat(time!), stack: [] } : null;
    if (current) samples.push(current);
  } else if (current) {
    const m = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
    if (m) current.stack.push(m[1]!);
  }
}

const columns = phases.map((arg) => {
  const [phase, ms] = arg.split('=');
  const spans = marks.filter((m) => m.phase === phase).map((m) => [Number(BigInt(m.from)) / 1e9, Number(BigInt(m.to)) / 1e9] as const);
  const inPhase = samples.filter((s) => spans.some(([a, b]) => s.t >= a && s.t <= b));
  const counts = new Map<string, number>();
  for (const s of inPhase) {
    const step = STEPS.find(([, rule]) => rule(s.stack))![0];
    counts.set(step, (counts.get(step) ?? 0) + 1);
  }
  return { phase: phase!, ms: Number(ms), n: inPhase.length, counts };
});

const out = [`| step | ${columns.map((c) => `${c.phase} (ms)`).join(' | ')} |`, `|---|${columns.map(() => '---|').join('')}`];
for (const [step] of STEPS) out.push(`| ${step} | ${columns.map((c) => ((c.ms * (c.counts.get(step) ?? 0)) / Math.max(1, c.n)).toFixed(2)).join(' | ')} |`);
out.push(`| **server CPU per operation (bench-renew, /proc)** | ${columns.map((c) => `**${c.ms.toFixed(2)}**`).join(' | ')} |`);
out.push(`| perf samples | ${columns.map((c) => c.n).join(' | ')} |`);
process.stdout.write(out.join('\n') + '\n');
