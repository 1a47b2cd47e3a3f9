/**
 * Where a renewal's server CPU goes: reads the `--cpu-prof` profile of a `pki serve` that ran
 * scripts/bench-renew and splits the renewal phase (first to last sample inside simplereenroll,
 * its later half: the measured renewals, past the warm-up) into the steps of docs/benchmarks.md.
 *
 *   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-interval 250 --cpu-prof-dir=/tmp/prof" scripts/bench-renew …
 *   node --import tsx scripts/bench-renew-profile.ts /tmp/prof/CPU.*.cpuprofile   (the largest: the main thread)
 *
 * Each sample goes to the first step whose rule matches its stack (innermost frames are tested first
 * for the native-only rules); what V8 cannot attribute to JavaScript ("(program)") while a
 * connection is being set up is OpenSSL's handshake (key exchange, signature, client-certificate
 * parse and verify of its signature) plus libuv and the HTTP parser.
 */
import { readFileSync, statSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: bench-renew-profile.ts PROFILE.cpuprofile…');
const file = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const parent = new Map<number, number>();
const byId = new Map<number, ProfileNode>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}
/** "file.ts:function" frames from the root to the sampled one. */
const stacks = new Map<number, string[]>();
function stackOf(id: number): string[] {
  let s = stacks.get(id);
  if (s) return s;
  s = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const f = byId.get(at)!.callFrame;
    s.unshift(`${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.functionName}`);
  }
  stacks.set(id, s);
  return s;
}

/** The steps, in the order they are tested; the first that matches a sample's stack takes it. */
const STEPS: [string, (s: string[]) => boolean][] = [
  ['idle', (s) => s.at(-1)!.endsWith(':(idle)')],
  ['garbage collection', (s) => s.at(-1)!.endsWith(':(garbage collector)')],
  ['TLS handshake and I/O outside JS (OpenSSL, libuv; "(program)")', (s) => s.at(-1)!.endsWith(':(program)')],
  ['PKCS#7 certs-only + base64 reply', (s) => s.some((f) => f.includes('pkcs7') || f.includes('base64Lines'))],
  ['issuance: OCSP pre-sign and other issued observers', (s) => s.some((f) => f.includes('src/status/') || f.includes('observers.ts'))],
  ['issuance: CSR parsed and verified again by the authority', (s) => s.some((f) => f.includes('authority.ts:issue')) && s.some((f) => f.includes('src/x509/csr'))],
  ['issuance: sign + verify the certificate', (s) => s.some((f) => f.includes('x509/certificate.ts') || f.includes('issuer-key.ts'))],
  ['issuance: database + audit (reserve, valid row, commit)', (s) => s.some((f) => f.includes('issuance.ts') || f.includes('src/store/'))],
  ['issuance: leaf template, lint, transparency log', (s) => s.some((f) => f.includes('src/authority/') || f.includes('src/tlog/'))],
  ['EST: CSR base64 + parse + signature verify', (s) => s.some((f) => f.includes('est/csr.ts'))],
  ['EST: current certificate (serial, bytes, status, lineage) + CSR names', (s) => s.some((f) => f.includes('est/reenroll.ts'))],
  ['client certificate handed to JS (getPeerX509Certificate)', (s) => s.some((f) => f.includes('peerCertificateOf'))],
  ['EST request routing, reply, audit', (s) => s.some((f) => f.includes('src/est/') || f.includes('http/est.ts'))],
  ['HTTP request/response (node:http, pipeline, log line)', (s) => s.some((f) => f.startsWith('node:_http') || f.includes('acme-https/') || f.includes('request-log'))],
  ['TLS socket JS (node:_tls_wrap, secure context, session)', (s) => s.some((f) => f.startsWith('node:_tls') || f.startsWith('node:tls'))],
  ['other', () => true],
];

// The renewal phase: the samples between the first and the last one inside reenroll().
let t = 0;
const times: number[] = [];
for (const d of profile.timeDeltas) times.push((t += d));
const inRenewal = profile.samples.map((id) => stackOf(id).some((f) => f.endsWith('est/reenroll.ts:reenroll')));
const first = inRenewal.indexOf(true);
const last = inRenewal.lastIndexOf(true);
if (first < 0) throw new Error(`${file}: no sample inside reenroll(); was the profile taken during scripts/bench-renew?`);
const from = times[first]! + (times[last]! - times[first]!) / 2;

const us = new Map<string, number>();
const self = new Map<string, number>();
let busy = 0;
for (let i = first; i <= last; i++) {
  if (times[i]! < from) continue;
  const s = stackOf(profile.samples[i]!);
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const step = STEPS.find(([, m]) => m(s))![0];
  us.set(step, (us.get(step) ?? 0) + dt);
  if (step !== 'idle') {
    busy += dt;
    self.set(s.at(-1)!, (self.get(s.at(-1)!) ?? 0) + dt);
  }
}
const out = ['| step | share of the renewal phase\'s busy CPU |', '|---|---|'];
for (const [step] of STEPS) if (step !== 'idle' && us.get(step)) out.push(`| ${step} | ${((100 * us.get(step)!) / busy).toFixed(1)} % |`);
out.push('', `busy ${(busy / 1000).toFixed(0)} ms in ${((times[last]! - from) / 1000).toFixed(0)} ms of the measured half; top self time:`);
for (const [f, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) out.push(`  ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${f}`);
process.stdout.write(out.join('\n') + '\n');
