import { Command } from 'commander';
import { COMMANDS, commandsFor } from './command-table.ts';
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
const registrations = await Promise.all(commandsFor(process.argv).map((name) => COMMANDS[name]!()));
for (const register of registrations) register(program);

await program.parseAsync(process.argv);
