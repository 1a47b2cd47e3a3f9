import { describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/errors.ts';
import { backoffMs, runRenewDaemon, spread, waitAfter } from '../../src/client/daemon.ts';
import type { RenewOutcome } from '../../src/client/renew.ts';

/** The `renew --daemon` loop (src/client/daemon.ts) on a fake clock: what it waits, when it retries, how it stops. */
const T0 = Date.parse('2026-01-01T00:00:00Z');
const notDue = (renewInMs: number): RenewOutcome => ({ action: 'not-due', serial: '01', notAfter: new Date(T0 + 86_400_000), renewAt: new Date(T0 + renewInMs) });
const renewed = { action: 'renewed', reason: 'expiring', previousSerial: '01', hook: { ran: false, ok: true }, serial: '02' } as unknown as RenewOutcome;
const half = () => 0.5; // spread(x) = x exactly

/** Drives the loop with scripted outcomes; records every wait; stops after the script ends. */
async function drive(script: Array<RenewOutcome | Error>, o: { checkEveryMs?: number; jitterMs?: number } = {}) {
  const stop = new AbortController();
  const waits: number[] = [];
  const failures: number[] = [];
  let i = 0;
  await runRenewDaemon({
    renewOnce: async () => {
      const next = script[i++]!;
      if (i >= script.length) stop.abort();
      if (next instanceof Error) throw next;
      return next;
    },
    checkEveryMs: o.checkEveryMs ?? 900_000,
    jitterMs: o.jitterMs,
    signal: stop.signal,
    now: () => T0,
    random: half,
    sleep: async (ms) => void waits.push(ms),
    onFailure: (_e, ms) => failures.push(ms),
  });
  return { waits, failures, rounds: i };
}

describe('renew --daemon: the loop', () => {
  it('ok/backoff doubles from 30 s and stops at 1 h', () => {
    expect([1, 2, 3, 4, 7, 8, 50].map((n) => backoffMs(n))).toEqual([30_000, 60_000, 120_000, 240_000, 1_920_000, 3_600_000, 3_600_000]);
  });

  it('ok/a wait is spread by ±10% and never under a second', () => {
    expect(spread(100_000, () => 0)).toBe(90_000);
    expect(spread(100_000, () => 1)).toBe(110_000);
    expect(spread(10, () => 0.5)).toBe(1_000);
  });

  it('ok/not due: waits a full interval, or until the renewal time (+ jitter) when that is sooner', () => {
    const o = { now: T0, checkEveryMs: 900_000, jitterMs: 0, random: half };
    expect(waitAfter(notDue(3_600_000), o)).toBe(900_000);
    expect(waitAfter(notDue(120_000), o)).toBe(120_000);
    expect(waitAfter(notDue(120_000), { ...o, jitterMs: 60_000 })).toBe(150_000);
    expect(waitAfter(notDue(-5_000), o)).toBe(1_000); // past due (clock jump): no busy loop
    expect(waitAfter(renewed, o)).toBe(900_000);
  });

  it('fail/failures back off and a success resets the backoff', async () => {
    const down = new CaError('unavailable', 'CA down');
    const r = await drive([notDue(3_600_000), down, down, down, renewed, down]);
    expect(r.failures).toEqual([30_000, 60_000, 120_000, 30_000]);
    expect(r.waits).toEqual([900_000, 30_000, 60_000, 120_000, 900_000, 30_000]);
  });

  it('fail/a first round that cannot succeed by retrying (no enrollment: config) is thrown, not retried', async () => {
    await expect(drive([new CaError('config', '/x holds no enrollment')])).rejects.toThrow(/holds no enrollment/);
    // After one success the same error is retried (a state file being rewritten, a disk briefly gone).
    const later = await drive([renewed, new CaError('config', 'transient')]);
    expect(later.failures).toEqual([30_000]);
  });

  it('ok/a stop during a renewal lets it finish, then the loop ends without another round', async () => {
    const stop = new AbortController();
    let finished = false;
    let rounds = 0;
    const done = runRenewDaemon({
      renewOnce: async () => {
        rounds++;
        stop.abort(); // SIGTERM arrives mid-renewal
        await new Promise((r) => setTimeout(r, 50));
        finished = true;
        return renewed;
      },
      checkEveryMs: 900_000,
      signal: stop.signal,
    });
    await done;
    expect(finished).toBe(true);
    expect(rounds).toBe(1);
  });
});
