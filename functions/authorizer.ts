/**
 * The API's Lambda TOKEN authorizer: verifies the bearer access token (signature against the
 * issuer's JWKS, issuer, audience or app client, expiry and not-before) from the stack's Cognito
 * user pool or a configured OIDC issuer, and hands the handlers the caller's identity as
 * authorizer context (`core/auth/identity.ts`). Any failure is API Gateway's `Unauthorized`: 401.
 *
 * API Gateway caches the answer by token for every route, so the policy allows the whole stage,
 * not only the method that happened to be called first.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { decomposeUnverifiedJwt } from 'aws-jwt-verify/jwt';
import { authorizerContext, identityFromClaims } from '../core/auth/identity.js';
import { type AuthConfig, loadAuthConfig } from '../core/config.js';

/** What API Gateway turns into a 401; any other error is a 500. */
const UNAUTHORIZED = 'Unauthorized';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

/** Verifies a token and returns its verified claims; throws if it is not valid. */
type Verify = (token: string) => Promise<Record<string, unknown>>;

/**
 * JWKS over `fetch`: aws-jwt-verify's own fetcher speaks only https, and the local issuer serves
 * its keys on loopback http (the config admits http for loopback only).
 */
const jwksFetcher = {
  async fetch(uri: string): Promise<ArrayBuffer> {
    const response = await fetch(uri, { signal: AbortSignal.timeout(3000), redirect: 'error' });
    if (response.status !== 200) {
      throw new Error(`JWKS ${uri} answered ${response.status}`);
    }
    return response.arrayBuffer();
  },
};

/**
 * One verifier per process, with one JWKS cache: keys are fetched at the first token of an
 * issuer and again only for a `kid` not seen yet (at most every 10 s per issuer).
 */
export function createVerifier(config: AuthConfig): Verify {
  const jwksCache = new SimpleJwksCache({ fetcher: jwksFetcher });
  const cognito = config.cognito && CognitoJwtVerifier.create({ userPoolId: config.cognito.userPoolId, tokenUse: 'access', clientId: [...config.cognito.clientIds] }, { jwksCache });
  const oidc =
    config.oidcIssuers.length > 0
      ? JwtVerifier.create(
          config.oidcIssuers.map((issuer) => ({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: [...issuer.audience] })),
          { jwksCache },
        )
      : undefined;
  return async (token) => {
    const issuer = decomposeUnverifiedJwt(token).payload.iss;
    const isCognito = cognito && issuer && CognitoJwtVerifier.parseUserPoolId(config.cognito!.userPoolId, issuer).issuer === issuer;
    if (!isCognito && !oidc) {
      throw new Error(`No configured issuer is ${JSON.stringify(issuer)}`);
    }
    const claims = isCognito ? await cognito.verify(token) : await oidc!.verify(token);
    // aws-jwt-verify checks `exp` only when present; a bearer token that never expires is refused.
    if (typeof claims.exp !== 'number') {
      throw new Error('The token has no expiry ("exp")');
    }
    return claims;
  };
}

let verifier: { config: AuthConfig; verify: Verify } | undefined;

export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  if (!verifier) {
    const config = loadAuthConfig();
    verifier = { config, verify: createVerifier(config) };
  }
  const token = BEARER.exec(event.authorizationToken ?? '')?.[1];
  try {
    if (!token) {
      throw new Error('The Authorization header is not "Bearer <JWT>"');
    }
    const identity = identityFromClaims(await verifier.verify(token), verifier.config.tenantClaim);
    return {
      principalId: identity.subject,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageArn(event.methodArn) }] },
      context: authorizerContext(identity),
    };
  } catch (error) {
    // Why, for whoever investigates; never the token itself.
    console.warn(JSON.stringify({ level: 'WARN', message: 'token rejected', reason: (error as Error).message }));
    throw new Error(UNAUTHORIZED);
  }
}

/** `arn:aws:execute-api:region:account:api/stage/GET/Patient/1` → `arn:…:api/stage/*`. */
function stageArn(methodArn: string): string {
  const [apiArn, stage] = methodArn.split('/');
  return `${apiArn}/${stage}/*`;
}
