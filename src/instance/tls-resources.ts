import type { AcmeService } from '../acme/create.ts';
import type { Logger } from '../domain/log.ts';
import type { SubResource } from '../http/acme-https/pipeline.ts';
import { estResources } from './est.ts';
import { oauthResources } from './oauth.ts';
import type { CaInstance } from './open.ts';
import { workloadTokensOf } from './workload-tokens.ts';

/**
 * What the TLS origin serves beside ACME and the CA certificates (EST, OAuth), each a SubResource
 * that answers its own paths and passes on the rest. Built once the ACME service is open.
 */
export function tlsResources(ca: CaInstance, service: AcmeService, logger: Logger): SubResource[] {
  // EST simpleenroll takes a workload identity token as a Bearer credential, checked by the same
  // verifier (JWKS and replay caches) as ACME tkauth-01; a token is single-use there.
  return [...estResources(ca, service, logger, workloadTokensOf(ca, logger)), oauthResources(ca, service.ctx.links.origin, logger)];
}
