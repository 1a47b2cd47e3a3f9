import { createHash, randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { z } from 'zod';
import { CaError } from '../domain/errors.ts';
import { LOG_KEY_ALG, type KeyAlg, type StoredKeyAlg } from '../domain/algorithms.ts';
import { registerKeyStore, validateLabel, type KeyInfo, type KeyStore, type KeyStoreEvent, type LogSigner, type Signer } from './keystore.ts';
import { ed25519Templates, readEd25519Spki, signEd25519 } from './pkcs11-ed25519.ts';
import { findObjects, keyPairTemplates, listPrivateKeyLabels, readPublicKey, signOnToken } from './pkcs11-keys.ts';
import { acquireModule, pkcs11js, releaseModule, type Handle } from './pkcs11-module.ts';
import { TokenSessions, type SessionContext } from './pkcs11-sessions.ts';

/**
 * `keyStore` settings in pki.json for `type: "pkcs11"`. The PIN itself is never here:
 * `pinEnv` names an environment variable, `pinFile` a mode-0600 file holding it.
 */
export const pkcs11SettingsSchema = z
  .object({
    module: z.string().min(1),
    token: z.string().min(1).optional(),
    slot: z.number().int().min(0).optional(),
    pinEnv: z.string().min(1).optional(),
    pinFile: z.string().min(1).optional(),
    /** Sessions opened for concurrent signing (libuv's thread pool has 4 threads by default). */
    maxSessions: z.number().int().min(1).max(64).optional(),
  })
  .refine((s) => (s.token === undefined) !== (s.slot === undefined), 'set exactly one of "token" (label) or "slot" (slot ID)');

export type Pkcs11Settings = z.infer<typeof pkcs11SettingsSchema>;

export function parsePkcs11Settings(settings: Record<string, unknown>): Pkcs11Settings {
  if ('pin' in settings) throw new CaError('config', 'keyStore.pin is not allowed: keep the PKCS#11 PIN out of the config (use pinEnv or pinFile)');
  const parsed = pkcs11SettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'keyStore'}: ${i.message}`).join('; ');
    throw new CaError('config', `invalid pkcs11 key store settings: ${issues}`);
  }
  return parsed.data;
}

/**
 * CA keys generated on a PKCS#11 token (an HSM; SoftHSM2 in tests) that never leave it:
 * token objects, private, sensitive and non-extractable, found again by CKA_LABEL.
 * Signing borrows a logged-in session per operation and survives the session or device
 * going away once (see TokenSessions).
 */
export class Pkcs11KeyStore implements KeyStore {
  readonly type = 'pkcs11';
  readonly #modulePath: string;
  readonly #sessions: TokenSessions;
  /** Private key handles by label, valid only within the session generation they were found in. */
  #keyHandles = new Map<string, { generation: number; handle: Handle }>();
  #closed = false;

  private constructor(modulePath: string, sessions: TokenSessions) {
    this.#modulePath = modulePath;
    this.#sessions = sessions;
  }

  /** Loads the module, finds the token and logs in; a wrong PIN or missing token fails here. */
  static async open(settings: Pkcs11Settings, pin: string): Promise<Pkcs11KeyStore> {
    if (!pin) throw new CaError('config', 'no PKCS#11 PIN: name an environment variable (pinEnv) or a file (pinFile) that holds it');
    const p11 = acquireModule(settings.module);
    const sessions = new TokenSessions(p11, { token: settings.token, slot: settings.slot }, pin, settings.maxSessions);
    try {
      await sessions.connect();
    } catch (e) {
      await sessions.close();
      releaseModule(settings.module);
      throw e;
    }
    return new Pkcs11KeyStore(settings.module, sessions);
  }

  onEvent(listener: (e: KeyStoreEvent) => void): void {
    this.#sessions.onEvent(listener);
  }

  async createKey(req: { label: string; alg: StoredKeyAlg }): Promise<KeyInfo> {
    const label = validateLabel(req.label);
    return this.#sessions.run(`generating key "${label}"`, async ({ p11, session }) => {
      if (findObjects(p11, session, label, pkcs11js.CKO_PRIVATE_KEY).length > 0 || findObjects(p11, session, label, pkcs11js.CKO_PUBLIC_KEY).length > 0) {
        throw new CaError('conflict', `key "${label}" already exists on the PKCS#11 token`);
      }
      // The transparency log's key (#17): CKM_EC_EDWARDS_KEY_PAIR_GEN, signing with CKM_EDDSA.
      if (req.alg === LOG_KEY_ALG) {
        const t = ed25519Templates(label, randomBytes(20));
        const pair = await p11.C_GenerateKeyPairAsync(session, t.mechanism, t.publicKey, t.privateKey).catch((e: Error) => {
          throw new CaError('keyStore', `the PKCS#11 token cannot make an Ed25519 key (CKM_EC_EDWARDS_KEY_PAIR_GEN): ${e.message}`);
        });
        return { label, alg: LOG_KEY_ALG, store: this.type, publicKeySpki: readEd25519Spki(p11, session, pair.publicKey)! };
      }
      const t = keyPairTemplates(label, randomBytes(20), req.alg as KeyAlg);
      const pair = await p11.C_GenerateKeyPairAsync(session, t.mechanism, t.publicKey, t.privateKey);
      const { spki, alg } = readPublicKey(p11, session, pair.publicKey);
      // CKA_ID = the SHA-1 key identifier (as in the certificate's SKI), so tools can match key and certificate.
      const keyId = createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
      for (const object of [pair.publicKey, pair.privateKey]) {
        try {
          p11.C_SetAttributeValue(session, object, [{ type: pkcs11js.CKA_ID, value: keyId }]);
        } catch {
          // Some tokens fix CKA_ID at creation: the random one stays, the label still finds the key.
        }
      }
      return { label, alg, store: this.type, publicKeySpki: spki };
    });
  }

  async getPublicKey(req: { label: string }): Promise<KeyInfo> {
    const label = validateLabel(req.label);
    return this.#sessions.run(`reading key "${label}"`, async ({ p11, session }) => {
      const [object, extra] = findObjects(p11, session, label, pkcs11js.CKO_PUBLIC_KEY);
      if (!object) throw new CaError('notFound', `no key labelled "${label}" on the PKCS#11 token`);
      if (extra) throw new CaError('keyStore', `more than one public key labelled "${label}" on the PKCS#11 token`);
      const ed25519 = readEd25519Spki(p11, session, object);
      if (ed25519) return { label, alg: LOG_KEY_ALG, store: this.type, publicKeySpki: ed25519 };
      const { spki, alg } = readPublicKey(p11, session, object);
      return { label, alg, store: this.type, publicKeySpki: spki };
    });
  }

  async getLogSigner(req: { label: string }): Promise<LogSigner> {
    const info = await this.getPublicKey(req);
    const label = info.label;
    if (info.alg !== LOG_KEY_ALG) throw new CaError('config', `key "${label}" is not an Ed25519 key: it cannot sign log checkpoints`);
    await this.#sessions.run(`finding key "${label}"`, async (ctx) => this.#privateKey(ctx, label));
    return {
      label,
      alg: LOG_KEY_ALG,
      publicKeySpki: info.publicKeySpki,
      sign: (message) => this.#sessions.run(`signing a checkpoint with key "${label}"`, (ctx) => signEd25519(ctx.p11, ctx.session, this.#privateKey(ctx, label), message)),
    };
  }

  async getSigner(req: { label: string }): Promise<Signer> {
    const info = await this.getPublicKey(req);
    const label = info.label;
    if (info.alg === LOG_KEY_ALG) throw new CaError('config', `key "${label}" is the transparency log's Ed25519 key: it signs checkpoints only`);
    // Find the private half now: a missing key fails at startup, not at the first issuance.
    await this.#sessions.run(`finding key "${label}"`, async (ctx) => this.#privateKey(ctx, label));
    return {
      label,
      alg: info.alg as KeyAlg,
      publicKeySpki: info.publicKeySpki,
      sign: (tbs) =>
        this.#sessions.run(`signing with key "${label}"`, (ctx) => signOnToken(ctx.p11, ctx.session, this.#privateKey(ctx, label), info.alg as KeyAlg, tbs)).catch((e: unknown) => {
          // A key that vanished while in use is a key store failure of the request, not a "not found" the caller caused.
          if (e instanceof CaError && e.kind === 'notFound') throw new CaError('keyStore', `signing key "${label}" is no longer on the PKCS#11 token`, { cause: e });
          throw e;
        }),
    };
  }

  async listKeys(): Promise<KeyInfo[]> {
    const labels = await this.#sessions.run('listing keys', async ({ p11, session }) => listPrivateKeyLabels(p11, session));
    const keys: KeyInfo[] = [];
    for (const label of labels) {
      try {
        keys.push(await this.getPublicKey({ label }));
      } catch (e) {
        // A private key without a public object (or with a label outside our alphabet) is not one of ours.
        if (!(e instanceof CaError) || (e.kind !== 'notFound' && e.kind !== 'malformed')) throw e;
      }
    }
    return keys;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sessions.close();
    releaseModule(this.#modulePath);
  }

  #privateKey(ctx: SessionContext, label: string): Handle {
    const cached = this.#keyHandles.get(label);
    if (cached && cached.generation === ctx.generation) return cached.handle;
    const [handle, extra] = findObjects(ctx.p11, ctx.session, label, pkcs11js.CKO_PRIVATE_KEY);
    if (!handle) throw new CaError('notFound', `no private key labelled "${label}" on the PKCS#11 token`);
    if (extra) throw new CaError('keyStore', `more than one private key labelled "${label}" on the PKCS#11 token`);
    this.#keyHandles.set(label, { generation: ctx.generation, handle });
    return handle;
  }
}

/** The subjectPublicKey BIT STRING contents of an SPKI (what RFC 5280 §4.2.1.2 method 1 hashes). */
function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  return new Uint8Array(AsnConvert.parse(spki, SubjectPublicKeyInfo).subjectPublicKey);
}

registerKeyStore('pkcs11', async ({ baseDir, settings, secret }) => {
  const parsed = parsePkcs11Settings(settings);
  const module = isAbsolute(parsed.module) ? parsed.module : resolve(baseDir, parsed.module);
  return Pkcs11KeyStore.open({ ...parsed, module }, secret);
});
