import { spawnSync } from 'node:child_process';
import { hasTool } from '../helpers/tools.ts';

/**
 * PyJWT (Debian python3-jwt), software nobody here wrote, makes a Kubernetes-shaped
 * service-account token with its own RSA key, the JWKS publishing that key, and forgeries.
 */
export const PYTHON = '/usr/bin/python3';

export function hasPyJwt(): boolean {
  if (!hasTool(PYTHON, ['--version'])) return false;
  const ok = spawnSync(PYTHON, ['-c', 'import jwt, cryptography'], { stdio: 'ignore' }).status === 0;
  if (!ok && process.env.CI) throw new Error('python3-jwt is required in CI but is not installed');
  return ok;
}

const SCRIPT = String.raw`
import json, sys, uuid
import jwt
from jwt.algorithms import RSAAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization

now = int(sys.argv[1])
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pub = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
pub.update({"kid": "sa-key", "alg": "RS256", "use": "sig"})

def claims(**over):
    c = {"aud": ["pki"], "exp": now + 3600, "iat": now, "nbf": now, "iss": sys.argv[2],
         "jti": str(uuid.uuid4()),
         "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "api", "uid": str(uuid.uuid4())},
                           "pod": {"name": "api-7d9f", "uid": str(uuid.uuid4())}},
         "sub": "system:serviceaccount:payments:api"}
    c.update(over)
    return c

h = {"kid": "sa-key"}
der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
out = {
  "jwks": {"keys": [pub]},
  "good": jwt.encode(claims(), key, algorithm="RS256", headers=h),
  "forged": {
    "none": jwt.encode(claims(), None, algorithm="none"),
    "hs256-public-key": jwt.encode(claims(), der, algorithm="HS256", headers=h),
    "other-key-same-kid": jwt.encode(claims(), other, algorithm="RS256", headers=h),
    "unknown-kid": jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "rotated-away"}),
    "expired": jwt.encode(claims(exp=now - 120, iat=now - 3720, nbf=now - 3720), key, algorithm="RS256", headers=h),
    "other-audience": jwt.encode(claims(aud=["vault"]), key, algorithm="RS256", headers=h),
    "other-issuer": jwt.encode(claims(iss="https://oidc.eks.example"), key, algorithm="RS256", headers=h),
    "user-not-serviceaccount": jwt.encode(claims(sub="alice@example.com"), key, algorithm="RS256", headers=h),
  },
}
print(json.dumps(out))
`;

export interface PyJwtTokens {
  jwks: unknown;
  good: string;
  forged: Record<string, string>;
}

/** Runs PyJWT: tokens issued at `now` (seconds) by `iss`. */
export function pyjwtTokens(now: number, iss = 'https://kubernetes.default.svc.cluster.local'): PyJwtTokens {
  const r = spawnSync(PYTHON, ['-c', SCRIPT, String(now), iss], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyJWT failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PyJwtTokens;
}
