import { ACR_PREFIX } from './grants.ts';

/** Where the OAuth endpoints live on the TLS origin. */
export const OAUTH_PATHS = {
  token: '/oauth/token',
  introspect: '/oauth/introspect',
  jwks: '/.well-known/jwks.json',
  metadata: '/.well-known/oauth-authorization-server',
} as const;

/**
 * Authorization server metadata (RFC 8414 §2). Every endpoint is already on the mTLS listener, so
 * the RFC 8705 §5 aliases name the same URLs; tokens are always certificate-bound (§3.3).
 */
export function authorizationServerMetadata(issuer: string): Record<string, unknown> {
  const token = `${issuer}${OAUTH_PATHS.token}`;
  const introspect = `${issuer}${OAUTH_PATHS.introspect}`;
  return {
    issuer,
    token_endpoint: token,
    introspection_endpoint: introspect,
    jwks_uri: `${issuer}${OAUTH_PATHS.jwks}`,
    grant_types_supported: ['client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['tls_client_auth'],
    introspection_endpoint_auth_methods_supported: ['tls_client_auth'],
    token_endpoint_auth_signing_alg_values_supported: ['ES256'],
    tls_client_certificate_bound_access_tokens: true,
    mtls_endpoint_aliases: { token_endpoint: token, introspection_endpoint: introspect },
    acr_values_supported: [`${ACR_PREFIX}mtls`, `${ACR_PREFIX}fresh`, `${ACR_PREFIX}profile:hsm`],
    access_token_signing_alg_values_supported: ['ES256'],
  };
}
