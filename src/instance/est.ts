import type { AcmeService } from '../acme/create.ts';
import { parseDuration } from '../domain/duration.ts';
import type { Logger } from '../domain/log.ts';
import type { WorkloadTokenVerifier } from '../domain/workload-token.ts';
import type { EstContext } from '../est/context.ts';
import { enrollmentSealKey } from '../est/enrollment-keys.ts';
import { EstService } from '../est/service.ts';
import { estResource } from '../http/est.ts';
import type { SubResource } from '../http/acme-https/pipeline.ts';
import { EstStore } from '../store/est-store.ts';
import type { CaInstance } from './open.ts';

/** The EST context of an opened instance: its tables on the issuance connection (as ACME's), the authority, the CA certificates. */
export function estContext(ca: CaInstance, o: { eabSealKey: Uint8Array; logger: Logger; tokenVerifier?: WorkloadTokenVerifier; tokensOffered?: () => boolean }): EstContext {
  return {
    store: new EstStore(ca.issuanceStore.db),
    authority: ca.authority,
    caCertificates: [new Uint8Array(ca.intermediate.rawData), new Uint8Array(ca.root.rawData)],
    sealKey: enrollmentSealKey(o.eabSealKey),
    clock: ca.clock,
    logger: o.logger,
    settings: {
      profile: ca.config.est.profile,
      maxLineageMs: parseDuration(ca.config.renewal.maxLineage),
      allowSameKey: ca.config.renewal.allowSameKey,
    },
    ...(o.tokenVerifier ? { tokenVerifier: o.tokenVerifier } : {}),
    ...(o.tokensOffered ? { tokensOffered: o.tokensOffered } : {}),
  };
}

/** EST (RFC 7030) on the TLS origin, unless the instance turned it off (est.enabled). */
export function estResources(ca: CaInstance, service: AcmeService, logger: Logger, tokens?: { verify: WorkloadTokenVerifier; offered(): boolean }): SubResource[] {
  if (!ca.config.est.enabled) return [];
  return [estResource(new EstService(estContext(ca, { eabSealKey: service.ctx.eabSealKey, logger, tokenVerifier: tokens?.verify, tokensOffered: tokens?.offered })))];
}
