// Entry of a log start-check thread (instance/log-check.ts): tsx's loader first, as bin/pki.js does.
import { register } from 'tsx/esm/api';

register();
await import('./log-check-worker.ts');
