import { Command } from 'commander';
import { registerAudit } from './commands/audit.ts';
import { registerBackup } from './commands/backup.ts';
import { registerCerts } from './commands/certs.ts';
import { registerEab } from './commands/eab.ts';
import { registerEnroll } from './commands/enroll.ts';
import { registerEst } from './commands/est.ts';
import { registerGrants } from './commands/grants.ts';
import { registerRenew } from './commands/renew.ts';
import { registerIssuers } from './commands/issuers.ts';
import { registerInit } from './commands/init.ts';
import { registerIssue } from './commands/issue.ts';
import { registerKeys } from './commands/keys.ts';
import { registerRevoke } from './commands/revoke.ts';
import { registerServe } from './commands/serve.ts';
import { registerStatus } from './commands/status.ts';
import { EXIT } from './common.ts';
import { addVersionOption } from './version.ts';

const program = new Command();
program
  .name('pki')
  .description('An internal certificate authority: short-lived machine identities over ACME, with OCSP and CRLs')
  .showHelpAfterError()
  .exitOverride((err) => {
    // Usage errors exit 2; --help and --version exit 0.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });

addVersionOption(program, 'pki');
registerInit(program);
registerServe(program);
registerEab(program);
registerEst(program);
registerIssue(program);
registerCerts(program);
registerRevoke(program);
registerStatus(program);
registerKeys(program);
registerAudit(program);
registerBackup(program);
registerEnroll(program);
registerRenew(program);
registerIssuers(program);
registerGrants(program);

await program.parseAsync(process.argv);
