import type { Command } from 'commander';

/**
 * Every command, in help order, as a loader of its registration (#21). A run loads only the
 * command it names: `pki revoke` beside a busy server must not wait for Node to load the ACME,
 * EST, OAuth and HTTP stacks it never uses (each module is a round trip to tsx's loader thread).
 * With no command named (`pki`, `pki --help`, `pki help x`, a typo), all are loaded, so the
 * help and the "did you mean" suggestion still know every command.
 */
export const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  init: async () => (await import('./commands/init.ts')).registerInit,
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  eab: async () => (await import('./commands/eab.ts')).registerEab,
  est: async () => (await import('./commands/est.ts')).registerEst,
  issue: async () => (await import('./commands/issue.ts')).registerIssue,
  certs: async () => (await import('./commands/certs.ts')).registerCerts,
  revoke: async () => (await import('./commands/revoke.ts')).registerRevoke,
  status: async () => (await import('./commands/status.ts')).registerStatus,
  keys: async () => (await import('./commands/keys.ts')).registerKeys,
  audit: async () => (await import('./commands/audit.ts')).registerAudit,
  backup: async () => (await import('./commands/backup.ts')).registerBackup,
  enroll: async () => (await import('./commands/enroll.ts')).registerEnroll,
  renew: async () => (await import('./commands/renew.ts')).registerRenew,
  issuers: async () => (await import('./commands/issuers.ts')).registerIssuers,
  grants: async () => (await import('./commands/grants.ts')).registerGrants,
};

/** The commands a run needs: the one named first on the command line (no global option takes a value), else all. */
export function commandsFor(argv: readonly string[]): string[] {
  const named = argv.slice(2).find((a) => !a.startsWith('-'));
  return named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
}
