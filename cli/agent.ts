/**
 * `pki-agent`: the workload side of pki on its own (enroll, renew, status; the same command
 * definitions `pki` registers), through src/agent.ts only, so scripts/build-agent bundles it into
 * one file with no native dependency. No top-level await: the single executable runs CommonJS.
 */
import { Command } from 'commander';
import { registerEnroll } from './commands/enroll.ts';
import { registerRenew } from './commands/renew.ts';
import { registerStatus } from './commands/status.ts';
import { EXIT } from './action.ts';
import { addVersionOption } from './version.ts';

const program = new Command();
program
  .name('pki-agent')
  .description('the pki workload agent: get this machine an identity (key + certificate) from a pki CA over ACME and keep it fresh')
  .showHelpAfterError()
  .exitOverride((err) => {
    // Usage errors exit 2; --help exits 0.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });
addVersionOption(program, 'pki-agent');
registerEnroll(program);
registerRenew(program);
registerStatus(program);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`pki-agent: ${e.message}\n`);
  process.exitCode = EXIT.failed;
});
