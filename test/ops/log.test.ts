import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { jsonLogger } from '../../src/domain/log.ts';

const LOG_MODULE = fileURLToPath(new URL('../../src/domain/log.ts', import.meta.url));

describe('jsonLogger', () => {
  it('ok/info lines of one event-loop turn reach stdout in one write; an error is written at once', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const log = jsonLogger();
      log.info('a', { n: 1 });
      log.info('b', { n: 2 });
      expect(write).not.toHaveBeenCalled();
      await new Promise((r) => setImmediate(r));
      expect(write).toHaveBeenCalledTimes(1);
      const lines = String(write.mock.calls[0]![0]).trim().split('\n').map((l) => JSON.parse(l) as { event: string; level: string; n: number });
      expect(lines.map((l) => [l.event, l.level, l.n])).toEqual([['a', 'info', 1], ['b', 'info', 2]]);
      log.info('c');
      log.error('boom', { why: 'x' });
      expect(write).toHaveBeenCalledTimes(2);
      expect(String(write.mock.calls[1]![0])).toMatch(/"event":"c".*\n.*"event":"boom"/s);
    } finally {
      write.mockRestore();
    }
  });

  it('ok/lines still buffered when the process exits are written (process.exit right after logging)', () => {
    const script = `const { jsonLogger } = await import(${JSON.stringify(LOG_MODULE)}); const log = jsonLogger(); for (let i = 0; i < 3; i++) log.info('line', { i }); process.exit(0);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([0, 1, 2]);
  });
});
