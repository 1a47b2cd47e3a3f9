import type { Signer } from '../domain/signer.ts';

/** The outcome of one signature by the issuing key, for metrics and readiness. */
export interface SignOutcome {
  ok: boolean;
  /** Epoch ms. */
  at: number;
  seconds: number;
  error?: string;
}

/** Fixed, recognisable bytes for the probe signature: not DER, so never mistakable for a certificate, CRL or OCSP response. */
const PROBE = new TextEncoder().encode('pki readiness probe: not a certificate, CRL or OCSP response');

/**
 * The issuing key as the rest of the process may see it: whether it signs, never the signer.
 * Readiness asks `lastSign` and `probe()`; metrics listen through `onSign`.
 */
export interface IssuerKeyHealth {
  readonly lastSign: SignOutcome | null;
  /** Signs fixed probe bytes (never DER) and reports the outcome; the signature is dropped. */
  probe(): Promise<SignOutcome>;
}

/**
 * Holds the issuer's Signer for the authority alone: every signature is timed and its outcome
 * reported to `onSign` (metrics) and kept as `lastSign` (readiness), so no code outside
 * authority/ needs the signer to observe it.
 */
export class IssuerKey implements IssuerKeyHealth {
  readonly #signer: Signer;
  readonly #onSign: (o: SignOutcome) => void;
  #last: SignOutcome | null = null;

  constructor(signer: Signer, onSign: (o: SignOutcome) => void = () => {}) {
    this.#signer = signer;
    this.#onSign = onSign;
  }

  get alg(): Signer['alg'] {
    return this.#signer.alg;
  }

  get label(): string {
    return this.#signer.label;
  }

  get publicKeySpki(): Uint8Array {
    return this.#signer.publicKeySpki;
  }

  get lastSign(): SignOutcome | null {
    return this.#last;
  }

  /** The signing seam handed to encoders (signCertificate, buildCrl): a Signer whose `sign` is this one. */
  asSigner(): Signer {
    return { label: this.label, alg: this.alg, publicKeySpki: this.publicKeySpki, sign: (tbs) => this.sign(tbs) };
  }

  async sign(tbs: Uint8Array): Promise<Uint8Array> {
    const start = performance.now();
    try {
      const signature = await this.#signer.sign(tbs);
      this.#report({ ok: true, at: Date.now(), seconds: (performance.now() - start) / 1000 });
      return signature;
    } catch (e) {
      this.#report({ ok: false, at: Date.now(), seconds: (performance.now() - start) / 1000, error: (e as Error).message });
      throw e;
    }
  }

  async probe(): Promise<SignOutcome> {
    await this.sign(PROBE).catch(() => {});
    return this.#last!;
  }

  /** A view that can only observe and probe: what readiness gets, so it holds nothing that signs chosen bytes. */
  health(): IssuerKeyHealth {
    const key = this;
    return {
      get lastSign() {
        return key.lastSign;
      },
      probe: () => key.probe(),
    };
  }

  #report(o: SignOutcome): void {
    this.#last = o;
    this.#onSign(o);
  }
}
