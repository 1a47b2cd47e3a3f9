import { isCaError } from '../src/agent.ts';
import { actionWith } from './action.ts';

/** The wrapper for the commands the agent shares with `pki` (enroll, renew, status): no database there. */
export const clientAction = actionWith(isCaError);
