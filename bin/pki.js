#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader: no build step, so `npm ci` is all
// a machine needs and the code that runs is the code that was reviewed.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
