import type { Command } from 'commander';
import { CaError, isRevoked, parseDuration, renew } from '../../src/index.ts';
import { reportLogProof } from './enroll.ts';
import { action } from '../common.ts';

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
    .option('--json', 'one JSON line describing what happened')
    .action(
      action(async (o: { out: string; exec?: string; force?: boolean; renewBefore: string; jitter: string; json?: boolean }) => {
        const m = /^(\d{1,2}(?:\.\d+)?)%?$/.exec(o.renewBefore.trim());
        if (!m || Number(m[1]) <= 0 || Number(m[1]) >= 100) throw new CaError('malformed', `invalid --renew-before "${o.renewBefore}": use a percentage such as 33%`);
        const jitterMs = o.jitter === '0' || o.jitter === '0s' ? 0 : parseDuration(o.jitter);
        const r = await renew({ out: o.out, exec: o.exec, force: o.force, renewBefore: Number(m[1]) / 100, jitterMs, isRevoked });
        if (o.json) {
          process.stdout.write(JSON.stringify(r) + '\n');
        } else if (r.action === 'renewed') {
          process.stdout.write(`renewed (${r.reason}): serial ${r.serial}, valid until ${r.notAfter.toISOString()}${r.hook.ran ? `; hook ${r.hook.ok ? 'ran' : 'FAILED: ' + r.hook.output}` : ''}\n`);
        } else if (process.stdout.isTTY) {
          process.stdout.write(`not due: serial ${r.serial} valid until ${r.notAfter.toISOString()}, renewal from ${r.renewAt.toISOString()}\n`);
        }
        if (r.action === 'renewed') reportLogProof(r.log);
        if (r.action === 'not-due' && r.warning) process.stderr.write(`pki: warning: ${r.warning}\n`);
        if (r.action === 'renewed' && !r.hook.ok) {
          process.stderr.write(`pki: renewed, but the --exec hook failed: ${r.hook.output}\n`);
          process.exitCode = RENEW_HOOK_FAILED;
        }
      }),
    );
}
