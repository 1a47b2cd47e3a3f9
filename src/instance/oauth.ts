import { TokenSigningKeys } from '../authority/token-signing.ts';
import type { Logger } from '../domain/log.ts';
import { oauthResource } from '../http/oauth.ts';
import type { SubResource } from '../http/acme-https/pipeline.ts';
import { MAX_TOKEN_TTL_MS } from '../oauth/grants.ts';
import { OAuthServer } from '../oauth/server.ts';
import type { OAuthEvent } from '../oauth/token-service.ts';
import { OAuthRepository } from '../store/oauth-grants.ts';
import type { CaInstance } from './open.ts';

/**
 * The OAuth authorization server of an opened instance on its TLS origin (docs/oauth.md). The
 * token-signing key is opened on first use; grants and certificate status are read on the
 * issuance connection (the warm one); refusals are audited on the main one.
 */
export function oauthResources(ca: CaInstance, origin: string, logger: Logger): SubResource {
  let opening: Promise<OAuthServer> | null = null;
  const onEvent = (e: OAuthEvent) => {
    if (e.kind === 'issued') {
      ca.metrics.oauthTokensIssued.inc({ acr: e.acr });
      return;
    }
    ca.metrics.oauthRefused.inc({ endpoint: e.endpoint, error: e.error });
    // Relaxed: a refusal's record survives a crash of this process, and a flood of refusals must not queue behind fsyncs.
    ca.store.relaxed(() =>
      ca.store.audit.append({ at: ca.clock.now(), action: `oauth.${e.endpoint}.refused`, actor: e.clientId ?? 'anonymous', target: e.serial, details: { error: e.error, description: e.description } }),
    );
  };
  const open = async () => {
    const grants = new OAuthRepository(ca.issuanceStore.db);
    const signer = await TokenSigningKeys.open({ keyStore: ca.keyStore, store: ca.store, clock: ca.clock, overlapMs: MAX_TOKEN_TTL_MS });
    if (!signer.currentKid) throw new Error('no token-signing key: run `pki keys rotate-token --dir DIR`');
    return new OAuthServer({
      issuer: origin,
      issuerCertificate: new Uint8Array(ca.intermediate.rawData),
      signer,
      grants,
      lookup: { record: (serial) => ca.issuanceStore.certificates.get(serial), status: (serial) => grants.certificateStatus(serial) },
      clock: ca.clock,
      onEvent,
    });
  };
  return oauthResource(() => {
    opening ??= open().catch((e: unknown) => {
      logger.error('oauth.unavailable', { error: (e as Error).message });
      opening = null;
      throw e;
    });
    return opening;
  });
}
