import type { Logger } from '../domain/log.ts';

export type Observer<T> = (value: T) => void | Promise<void>;

/**
 * Listeners told about an act after its commit (pre-sign OCSP, rebuild a CRL, count a metric).
 * The act already happened: a listener that fails is logged and tried again later, and never
 * turns the act into a failure for its caller. `notify` waits for each listener's first try,
 * so what they do (e.g. the fresh OCSP response) is there before the certificate is handed out.
 */
export class Observers<T> {
  readonly #list: Observer<T>[] = [];
  readonly #event: string;
  readonly #retryMs: number[];
  logger: Logger;

  constructor(event: string, logger: Logger, retryMs: number[] = [1_000, 5_000, 30_000]) {
    this.#event = event;
    this.logger = logger;
    this.#retryMs = retryMs;
  }

  add(observer: Observer<T>): void {
    this.#list.push(observer);
  }

  async notify(value: T, target: string): Promise<void> {
    for (const o of this.#list) await this.#run(o, value, target, 0);
  }

  async #run(o: Observer<T>, value: T, target: string, attempt: number): Promise<void> {
    try {
      await o(value);
    } catch (e) {
      const delay = this.#retryMs[attempt];
      this.logger.error('authority.observer.failed', { event: this.#event, target, attempt: attempt + 1, retry: delay !== undefined, error: (e as Error).message });
      if (delay !== undefined) setTimeout(() => void this.#run(o, value, target, attempt + 1), delay).unref();
    }
  }
}
