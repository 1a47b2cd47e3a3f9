import type { Command } from 'commander';
import { CaError, parseDuration, renew, revocationStatus, type RenewOutcome } from '../../src/agent.ts';
import { renewDaemon } from '../renew-daemon.ts';
import { clientAction as action } from '../client-action.ts';
import { reportLogProof } from './enroll.ts';

/** Exit codes: 0 renewed or not due (a revocation check that could not be made is a warning on stderr); 1 failed, old pair intact; 2 usage; 3 renewed but the --exec hook failed. */
export const RENEW_HOOK_FAILED = 3;

export function registerRenew(program: Command): void {
  program
    .command('renew')
    .description('renew the identity in --out when due (for cron / systemd timers); silent when not due')
    .requiredOption('--out <dir>', 'directory given to pki enroll')
    .option('--exec <cmd>', 'run after a successful swap, e.g. "systemctl reload nginx"')
    .option('--force', 'renew now whatever the lifetime left')
    .option('--renew-before <percent>', 'renew when less than this share of the lifetime remains', '33%')
    .option('--jitter <duration>', 'random delay before renewing, e.g. 10m (not with --force)', '0s')
    .option('--daemon', 'stay running: renew whenever due, back off on failure, exit 0 on SIGTERM/SIGINT (hosts without systemd or cron)')
    .option('--check-every <duration>', 'with --daemon: the longest wait between two checks', '15m')
    .option('--json', 'one JSON line describing what happened')
    .action(
      action(async (o: RenewFlags) => {
        const m = /^(\d{1,2}(?:\.\d+)?)%?$/.exec(o.renewBefore.trim());
        if (!m || Number(m[1]) <= 0 || Number(m[1]) >= 100) throw new CaError('malformed', `invalid --renew-before "${o.renewBefore}": use a percentage such as 33%`);
        const jitterMs = o.jitter === '0' || o.jitter === '0s' ? 0 : parseDuration(o.jitter);
        // A renewal by the current certificate that the CA refused is worth a line: the fallback (ACME) needs a challenge.
        const log = (event: string, f: Record<string, unknown>) => void (event === 'renew.est-refused' && process.stderr.write(`pki: renewal by the current certificate did not happen (${String(f.reason)}); renewing over ACME\n`));
        const options = { out: o.out, exec: o.exec, force: o.force, renewBefore: Number(m[1]) / 100, jitterMs, isRevoked: revocationStatus, log };
        if (o.daemon) return renewDaemon(options, o, reportRenewal);
        reportRenewal(await renew(options), o);
      }),
    );
}

export interface RenewFlags {
  out: string;
  exec?: string;
  force?: boolean;
  renewBefore: string;
  jitter: string;
  daemon?: boolean;
  checkEvery: string;
  json?: boolean;
}

/** What one renewal prints (a JSON line, or text; not-due is silent unless on a terminal) and its exit code. */
export function reportRenewal(r: RenewOutcome, o: { json?: boolean; daemon?: boolean }): void {
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else if (r.action === 'renewed') {
    process.stdout.write(`renewed (${r.reason}, via ${r.via}): serial ${r.serial}, valid until ${r.notAfter.toISOString()}${r.hook.ran ? `; hook ${r.hook.ok ? 'ran' : 'FAILED: ' + r.hook.output}` : ''}\n`);
  } else if (process.stdout.isTTY) {
    process.stdout.write(`not due: serial ${r.serial} valid until ${r.notAfter.toISOString()}, renewal from ${r.renewAt.toISOString()}\n`);
  }
  if (r.action === 'renewed') reportLogProof(r.log);
  if (r.action === 'not-due' && r.warning) process.stderr.write(`pki: warning: ${r.warning}\n`);
  if (r.action === 'renewed' && !r.hook.ok) {
    process.stderr.write(`pki: renewed, but the --exec hook failed: ${r.hook.output}\n`);
    // The daemon goes on (the new pair is in place) and still exits 0 when stopped.
    if (!o.daemon) process.exitCode = RENEW_HOOK_FAILED;
  }
}
