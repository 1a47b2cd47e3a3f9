import { z } from 'zod';
import { duration } from './duration.ts';

/**
 * The `http` section of pki.json: the plain-HTTP listener's address, and the time limits every
 * listener (plain HTTP, ACME over HTTPS, the OCSP workers) holds its clients to.
 */
export const httpConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(9080),
  /** The whole request, headers and body, must arrive within this; a client trickling bytes is cut off. */
  requestTimeout: duration().default('30s'),
  /** The request's headers must arrive within this (no longer than requestTimeout). */
  headersTimeout: duration().default('10s'),
  /** On SIGTERM, how long requests already under way may take to finish before their connections are cut. */
  shutdownGrace: duration().default('10s'),
});

export type HttpConfig = z.infer<typeof httpConfigSchema>;
