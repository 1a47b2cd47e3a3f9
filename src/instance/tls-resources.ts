import type { AcmeService } from '../acme/create.ts';
import type { Logger } from '../domain/log.ts';
import type { SubResource } from '../http/acme-https/pipeline.ts';
import { oauthResources } from './oauth.ts';
import type { CaInstance } from './open.ts';

/**
 * What the TLS origin serves beside ACME and the CA certificates (EST, OAuth), each a SubResource
 * that answers its own paths and passes on the rest. Built once the ACME service is open.
 */
export function tlsResources(_ca: CaInstance, _service: AcmeService, _logger: Logger): SubResource[] {
  return [
    oauthResources(_ca, _service.ctx.links.origin, _logger),
  ];
}
