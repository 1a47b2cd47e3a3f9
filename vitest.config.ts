import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A throwaway PostgreSQL cluster when none is given and the server is installed (#22).
    globalSetup: ['test/setup/postgres.ts'],
    // forks: C libraries (SoftHSM2) read the real process environment, which thread workers do not have.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
