import type acme from 'acme-client';

/** npm acme-client's `auto` through http-01, the way its users call it, answering from a test challenge server. */
export function autoHttp01(client: acme.Client, csr: Buffer, web: { set(token: string, keyAuth: string): void }): Promise<string> {
  return client.auto({
    csr,
    termsOfServiceAgreed: true,
    challengePriority: ['http-01'],
    skipChallengeVerification: true,
    challengeCreateFn: async (_a, ch, keyAuthorization) => web.set(ch.token, keyAuthorization),
    challengeRemoveFn: async () => {},
  });
}
