import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerEnroll } from '../../cli/commands/enroll.ts';
import { registerRenew } from '../../cli/commands/renew.ts';
import { registerStatus } from '../../cli/commands/status.ts';

/** man/pki-agent.1 (shipped in the .deb) documents exactly the options `pki-agent <command> --help` lists. */
const MAN = readFileSync(join(import.meta.dirname, '../../man/pki-agent.1'), 'utf8');

/** The long options documented under `.SH <TITLE>` (each option is a `.TP` item starting with .B or .BI). */
export function manOptions(man: string, title: string): string[] {
  const start = man.indexOf(`.SH ${title}`);
  if (start < 0) return [];
  const end = man.indexOf('\n.SH ', start + 1);
  const section = man.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\.TP\n\.BI? (\\-\\-[a-z0-9\\-]+)/gm)].map((m) => m[1]!.replaceAll('\\-', '-')).sort();
}

function helpOptions(name: string): string[] {
  const program = new Command();
  registerEnroll(program);
  registerRenew(program);
  registerStatus(program);
  const cmd = program.commands.find((c) => c.name() === name)!;
  return cmd.options.map((o) => o.long!).sort();
}

describe('pki-agent(1) matches --help', () => {
  for (const command of ['enroll', 'renew', 'status']) {
    it(`ok/${command}: every option of --help is in the man page, and no other`, () => {
      expect(manOptions(MAN, `${command.toUpperCase()} OPTIONS`)).toEqual(helpOptions(command));
    });
  }

  it('fail/an option missing from the man page is caught', () => {
    const trimmed = MAN.replace('.TP\n.B \\-\\-force\n', '');
    expect(manOptions(trimmed, 'RENEW OPTIONS')).not.toContain('--force');
    expect(manOptions(MAN, 'RENEW OPTIONS')).toContain('--force');
  });
});
