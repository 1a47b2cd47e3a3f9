import { CaError, isCaError, parseDuration, renew, runRenewDaemon, type RenewOptions, type RenewOutcome } from '../src/agent.ts';

/**
 * `pki renew --daemon` / `pki-agent renew --daemon` (the loop is src/client/daemon.ts): stays in
 * the foreground, prints each renewal like a one-shot renew and each failure with its retry time
 * on stderr. The first SIGTERM or SIGINT stops after the renewal under way (exit 0); a second
 * one exits at once (1): the pair on disk is whole either way (installPair swaps atomically).
 */
export async function renewDaemon(
  options: RenewOptions,
  flags: { force?: boolean; checkEvery: string; json?: boolean },
  report: (r: RenewOutcome, o: { json?: boolean; daemon: boolean }) => void,
): Promise<void> {
  if (flags.force) throw new CaError('malformed', '--force renews once: it does not go with --daemon');
  let checkEveryMs = 0;
  try {
    checkEveryMs = parseDuration(flags.checkEvery);
  } catch {
    // parseDuration's own message does not say which flag
  }
  if (checkEveryMs < 1000) throw new CaError('malformed', `invalid --check-every "${flags.checkEvery}": use a duration of at least 1s, e.g. 15m`);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(1);
    process.stderr.write(`pki: ${signal}: stopping after the renewal under way, if any\n`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await runRenewDaemon({
      // The jitter is the loop's (added to a scheduled renewal's wait), so a stop request never waits through it.
      renewOnce: () => renew({ ...options, jitterMs: 0 }),
      checkEveryMs,
      jitterMs: options.jitterMs,
      signal: stop.signal,
      onOutcome: (r) => report(r, { json: flags.json, daemon: true }),
      onFailure: (e, retryInMs) => {
        const why = isCaError(e) ? e.detail : `unexpected error: ${(e as Error)?.message ?? String(e)}`;
        if (flags.json) process.stdout.write(JSON.stringify({ action: 'failed', error: why, retryInSeconds: Math.round(retryInMs / 1000) }) + '\n');
        process.stderr.write(`pki: renew failed: ${why}; retrying in ${Math.round(retryInMs / 1000)}s\n`);
      },
    });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
