// Entry of a log start-check thread (instance/log-check.ts): tsx's loader first, as bin/pki.js does.
// Run from source only: the prebuilt CLI starts dist/cli/<build>/log-check-worker.js instead (domain/runtime-files.ts, #21).
import { register } from 'tsx/esm/api';

register();
await import('./log-check-worker.ts');
