import type { CaInstance } from './open.ts';
import type { Logger } from '../domain/log.ts';
import { statusOptionsFromConfig, type StatusOptions } from '../status/options.ts';
import { StatusService } from '../status/status-service.ts';

/**
 * Starts revocation status for a serving instance: hooks onto its authority (pre-sign at
 * issuance, re-sign and rebuild the CRL at revocation), catches up on what other processes
 * changed, and keeps responses, the responder certificate and CRLs fresh until stopped.
 */
export async function startStatusService(ca: StatusInstance, logger: Logger, overrides: Partial<StatusOptions> = {}): Promise<StatusService> {
  const service = createStatusService(ca, logger, overrides);
  await service.start();
  return service;
}

type StatusInstance = Pick<CaInstance, 'store' | 'issuanceStore' | 'authority' | 'clock' | 'config'>;

/**
 * The status service hooked onto the authority but not started: nothing signed yet (start()
 * issues the responder certificate and the CRLs), so `pki serve` binds its ports in between.
 */
export function createStatusService(ca: StatusInstance, logger: Logger, overrides: Partial<StatusOptions> = {}): StatusService {
  const service = new StatusService({
    store: ca.store,
    freshStore: ca.issuanceStore,
    authority: ca.authority,
    clock: ca.clock,
    logger,
    options: { ...statusOptionsFromConfig(ca.config), ...overrides },
  });
  service.attach();
  return service;
}
