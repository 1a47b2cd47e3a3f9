import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestCa, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { pkiBackground } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * Every connection made while `pki serve --ocsp-workers` starts gets an answer: a worker is
 * handed the shared listening socket only once it can serve it, because Node's child_process
 * accepts on a received server handle from the moment it arrives (instance/ocsp-worker.ts).
 * Before, a connection the kernel gave the worker in that window was accepted and never read.
 */

type Outcome = 'answered' | 'refused' | 'hung';

/** One raw HTTP/1.1 request on a connection of its own; `hung` when nothing comes back within `ms`. */
function probe(port: number, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      resolve('hung');
    }, ms);
    const done = (o: Outcome) => {
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: pki\r\nConnection: close\r\n\r\n'));
    s.on('data', () => done('answered'));
    // Refused (not listening yet) or reset: the client knows at once and can retry; only silence is the bug.
    s.on('error', () => done('refused'));
    s.on('close', () => done('refused'));
  });
}

describe('pki serve --ocsp-workers 1 while it starts', () => {
  let serve: ReturnType<typeof pkiBackground> | undefined;
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('bad/no connection made during start-up is left unanswered', async () => {
    const ca = await createTestCa();
    await ca.close();
    const port = await freePort();
    serve = pkiBackground(['serve', '--dir', ca.dir, '--host', '127.0.0.1', '--http-port', String(port), '--no-acme', '--ocsp-workers', '1'], /serve\.started/, { PKI_PASSPHRASE: TEST_PASSPHRASE });
    let started = false;
    void serve.started.then(() => (started = true), () => (started = true));
    const probes: Promise<Outcome>[] = [];
    // Connections every few ms from the spawn until a moment after start: many land in the worker's start-up.
    while (!started) {
      for (let i = 0; i < 4; i++) probes.push(probe(port, 8_000));
      await new Promise((r) => setTimeout(r, 5));
    }
    await serve.started;
    for (let i = 0; i < 40; i++) probes.push(probe(port, 8_000));
    const outcomes = await Promise.all(probes);
    const count = (o: Outcome) => outcomes.filter((x) => x === o).length;
    expect({ hung: count('hung') }).toEqual({ hung: 0 });
    expect(count('answered')).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it('bad/a worker killed is started again, and no connection meanwhile is left unanswered', async () => {
    const workerPids = () => serve!.output().stdout.split('\n').filter((l) => l.includes('ocsp.worker.ready')).map((l) => JSON.parse(l).pid as number);
    const [first] = workerPids();
    expect(first).toBeGreaterThan(0);
    const port = Number(new URL(JSON.parse(await serve!.started).http).port);
    process.kill(first!, 'SIGKILL');
    const probes: Promise<Outcome>[] = [];
    const t0 = Date.now();
    while (workerPids().length < 2 && Date.now() - t0 < 20_000) {
      for (let i = 0; i < 4; i++) probes.push(probe(port, 8_000));
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < 40; i++) probes.push(probe(port, 8_000));
    const outcomes = await Promise.all(probes);
    expect(workerPids()).toHaveLength(2);
    expect(workerPids()[1]).not.toBe(first);
    expect({ hung: outcomes.filter((o) => o === 'hung').length }).toEqual({ hung: 0 });
  }, 60_000);
});
