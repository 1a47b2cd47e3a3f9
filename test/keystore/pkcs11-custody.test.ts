import { describe, expect, it } from 'vitest';
import pkcs11js from 'pkcs11js';
import { Pkcs11KeyStore, parsePkcs11Settings } from '../../src/keystore/pkcs11.ts';
import { openKeyStore } from '../../src/keystore/keystore.ts';
import { readUlong } from '../../src/keystore/pkcs11-module.ts';
import { keyIdentifier } from '../../src/x509/certificate.ts';
import { createTestToken, hasSoftHsm } from '../helpers/softhsm.ts';
import { hasTool, run } from '../helpers/tools.ts';

const available = hasSoftHsm();

/** A second handle on the same library, as another part of the process (or an attacker with the PIN) would use it. */
function otherHandle(module: string, tokenLabel: string, pin: string) {
  const p11 = new pkcs11js.PKCS11();
  p11.load(module);
  try {
    p11.C_Initialize();
  } catch {
    // Already initialized by the store: same library, same state.
  }
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === tokenLabel)!;
  const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    p11.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch {
    // Already logged in through the store's sessions.
  }
  const privateKey = (label: string) => {
    p11.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: label },
    ]);
    const [h] = p11.C_FindObjects(session, 1);
    p11.C_FindObjectsFinal(session);
    return h!;
  };
  return { p11, session, privateKey };
}

function pkcs11CodeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
}

describe.skipIf(!available)('pkcs11 key custody on SoftHSM2', () => { // skips only locally: the tool check throws when CI is set
  const token = available ? createTestToken() : null!;
  const open = () => Pkcs11KeyStore.open({ module: token.module, token: token.label }, token.pin);

  it('ok/the private key is generated sensitive and non-extractable: reading or wrapping it fails', async () => {
    const ks = await open();
    try {
      await ks.createKey({ label: 'custody', alg: 'ecdsa-p256' });
      const h = otherHandle(token.module, token.label, token.pin);
      const key = h.privateKey('custody');
      const attrs = h.p11.C_GetAttributeValue(h.session, key, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
        { type: pkcs11js.CKA_LOCAL },
      ]);
      expect(attrs.map((a) => a.value?.[0])).toEqual([1, 0, 1, 1]);
      // The raw key value cannot be read…
      expect(pkcs11CodeOf(() => h.p11.C_GetAttributeValue(h.session, key, [{ type: pkcs11js.CKA_VALUE }]))).toMatch(/CKR_ATTRIBUTE_SENSITIVE/);
      // …nor wrapped out under a key the caller holds…
      const wrapping = h.p11.C_GenerateKey(h.session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_WRAP, value: true },
        { type: pkcs11js.CKA_TOKEN, value: false },
      ]);
      expect(pkcs11CodeOf(() => h.p11.C_WrapKey(h.session, { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD }, wrapping, key, Buffer.alloc(4096)))).toMatch(
        /CKR_KEY_UNEXTRACTABLE/,
      );
      // …nor made extractable after the fact.
      expect(pkcs11CodeOf(() => h.p11.C_SetAttributeValue(h.session, key, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]))).toMatch(/CKR_ATTRIBUTE_READ_ONLY/);
      h.p11.C_CloseSession(h.session);
    } finally {
      await ks.close();
    }
  });

  it.skipIf(!hasTool('pkcs11-tool', ['--help']))('ok/pkcs11-tool --list-objects shows the key sensitive and never extractable', async () => { // skips only locally: hasTool throws when CI is set
    const ks = await open();
    let spkiId: string;
    try {
      const info = await ks.createKey({ label: 'listed', alg: 'ecdsa-p384' });
      spkiId = keyIdentifier(info.publicKeySpki);
    } finally {
      await ks.close();
    }
    const args = ['--module', token.module, '--token-label', token.label, '--login', '--pin', token.pin];
    const listing = run('pkcs11-tool', [...args, '--list-objects', '--type', 'privkey'], { env: token.env });
    const block = listing.split(/\n(?=\S)/).find((b) => /label:\s+listed\b/.test(b));
    expect(block).toMatch(/^Private Key Object; EC/);
    const access = /Access:\s+(.*)/.exec(block!)![1]!;
    expect(access).toMatch(/\bsensitive\b/);
    expect(access).toMatch(/never extractable/);
    // pkcs11-tool prints a bare "extractable" only when CKA_EXTRACTABLE is true.
    expect(access.replace(/never extractable/, '')).not.toMatch(/extractable/);
    // A signing key and nothing else.
    expect(/Usage:\s+(.*)/.exec(block!)![1]!.trim()).toBe('sign');
    // CKA_ID is the key identifier, as in the intermediate certificate's SKI.
    expect(block).toMatch(new RegExp(`ID:\\s+${spkiId}`));
  });

  it('fail/an unknown token label is a clear keyStore error', async () => {
    const err = await Pkcs11KeyStore.open({ module: token.module, token: 'no-such-token' }, token.pin).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'keyStore', detail: expect.stringMatching(/no PKCS#11 token "no-such-token" is present/) });
  });

  it('fail/a module path that is not a PKCS#11 library is a config error', async () => {
    const err = await Pkcs11KeyStore.open({ module: '/nonexistent/libnothing.so', token: token.label }, token.pin).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'config', detail: expect.stringMatching(/cannot load PKCS#11 module \/nonexistent\/libnothing.so/) });
  });

  it('fail/settings refuse a PIN in the config and need exactly one of token or slot', async () => {
    expect(() => parsePkcs11Settings({ module: token.module, token: 'x', pin: '1234' })).toThrow(/PIN out of the config/);
    expect(() => parsePkcs11Settings({ module: token.module })).toThrow(/exactly one of "token"/);
    expect(() => parsePkcs11Settings({ module: token.module, token: 'x', slot: 1 })).toThrow(/exactly one of "token"/);
    await expect(openKeyStore('pkcs11', { baseDir: '/', settings: { module: token.module, token: token.label }, secret: '' })).rejects.toMatchObject({ kind: 'config' });
  });

  it('ok/the store is registered as "pkcs11" and opens by slot ID too', async () => {
    const h = otherHandle(token.module, token.label, token.pin);
    const slot = h.p11.C_GetSessionInfo(h.session).slotID;
    h.p11.C_CloseSession(h.session);
    const ks = await openKeyStore('pkcs11', { baseDir: '/', settings: { module: token.module, slot: readUlong(slot) }, secret: token.pin });
    try {
      expect(ks.type).toBe('pkcs11');
      expect((await ks.listKeys()).map((k) => k.label)).toContain('custody');
    } finally {
      await ks.close();
    }
  });
});
