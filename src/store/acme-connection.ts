import { openConnection, type Db } from './sqlite.ts';

/**
 * A second connection to the instance database for ACME bookkeeping (orders,
 * authorizations, challenges, spent nonces) with synchronous=NORMAL: in WAL mode
 * a commit survives a process crash or restart and is only at risk on power loss,
 * where the cost is a client retrying an order. `pki serve` passes the authority's
 * group-commit connection instead (also NORMAL; docs/design.md "One connection for the
 * hot path"); this one is for in-process use without it (tests).
 */
export function openAcmeConnection(main: Db): Db {
  return openConnection(main, 'NORMAL');
}
