/**
 * The Lambda authorizer against real tokens: an RSA key pair made here, its JWKS served over HTTP
 * on loopback, aws-jwt-verify doing the checks. Every attack must end in API Gateway's
 * `Unauthorized` (401).
 */
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../../core/config.js';
import { createVerifier, handler } from '../../functions/authorizer.js';
import { base64url, issueToken, JWKS_PATH, LOCAL_AUDIENCE, LOCAL_ISSUER, localIssuerConfig, signingKey, signJwt, type TokenRequest } from '../../scripts/local/local-issuer.js';

const TENANT_CLAIM = 'custom:tenant_id';
const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/Patient/p1';
const key = signingKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const otherKey = signingKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);

let server: Server;
let jwksRequests = 0;
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    jwksRequests += 1;
    res.writeHead(req.url === JWKS_PATH ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(key.jwks));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  process.env.FHIR_OIDC_ISSUERS = JSON.stringify([localIssuerConfig(`http://127.0.0.1:${port}${JWKS_PATH}`)]);
  process.env.FHIR_TENANT_CLAIM = TENANT_CLAIM;
  delete process.env.FHIR_AUTH_MODE;
});

afterAll(async () => {
  process.env = savedEnv;
  server.closeAllConnections();
  server.close();
});

const request: TokenRequest = { tenant: 'clinic-1', scope: 'openid patient/*.rs', tenantClaim: TENANT_CLAIM, subject: 'u-1', clientId: 'app-1', patient: 'p1', fhirUser: 'Patient/p1' };

function authorize(token: string) {
  const event: APIGatewayTokenAuthorizerEvent = { type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: METHOD_ARN };
  return handler(event);
}

const now = () => Math.floor(Date.now() / 1000);
const validClaims = () => ({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, sub: 'u-1', scope: 'user/*.rs', [TENANT_CLAIM]: 'clinic-1', iat: now(), exp: now() + 300 });

describe('a valid token', () => {
  it('is allowed on the whole stage, with the identity as context', async () => {
    const result = await authorize(issueToken(key, request));
    expect(result.principalId).toBe('u-1');
    expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*' }]);
    expect(result.context).toEqual({ tenant: 'clinic-1', sub: 'u-1', client_id: 'app-1', scope: 'patient/*.rs', patient: 'p1', fhirUser: 'Patient/p1' });
  });

  it('is checked against a JWKS fetched once per process', async () => {
    const before = jwksRequests;
    for (let i = 0; i < 5; i++) {
      await authorize(issueToken(key, { ...request, subject: `u-${i}` }));
    }
    expect(jwksRequests).toBe(before);
  });
});

/** A token with `claims` merged into valid ones and signed by the real key. */
const withClaims = (claims: Record<string, unknown>) => signJwt(key, { ...validClaims(), ...claims });

function withoutClaim(name: string): string {
  const claims: Record<string, unknown> = validClaims();
  delete claims[name];
  return signJwt(key, claims);
}

function unsigned(): string {
  return `${base64url({ alg: 'none', typ: 'JWT', kid: key.kid })}.${base64url(validClaims())}.`;
}

/** The classic confusion: HMAC keyed with the RSA public key, hoping the verifier uses it as a secret. */
function hs256WithPublicKey(): string {
  const input = `${base64url({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${base64url(validClaims())}`;
  const publicPem = createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' });
  return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
}

function tampered(): string {
  const [header, , signature] = withClaims({}).split('.');
  return `${header}.${base64url({ ...validClaims(), [TENANT_CLAIM]: 'another-clinic' })}.${signature}`;
}

describe.each([
  ['alg: none', unsigned],
  ['HS256 signed with the public key', hs256WithPublicKey],
  ['a wrong issuer', () => withClaims({ iss: 'https://evil.example' })],
  ['a wrong audience', () => withClaims({ aud: 'another-api' })],
  ['an expired token', () => withClaims({ exp: now() - 10 })],
  ['a token not yet valid', () => withClaims({ nbf: now() + 600 })],
  ['a tampered payload', tampered],
  ['an unknown kid', () => signJwt(otherKey, validClaims())],
  ['a known kid on a foreign signature', () => signJwt({ privateKey: otherKey.privateKey, kid: key.kid }, validClaims())],
  ['no tenant claim', () => withoutClaim(TENANT_CLAIM)],
  ['a numeric tenant claim', () => withClaims({ [TENANT_CLAIM]: 7 })],
  ['a tenant claim with #', () => withClaims({ [TENANT_CLAIM]: 'clinic-1#RESOURCE#Patient' })],
  ['a malformed scope', () => withClaims({ scope: 'user/*.sr' })],
  ['no expiry', () => withoutClaim('exp')],
  ['not a JWT', () => 'not-a-token'],
])('%s', (_name, token) => {
  it('is Unauthorized', async () => {
    await expect(authorize(token())).rejects.toThrow(/^Unauthorized$/);
  });
});

it('refuses a header that is not a bearer token', async () => {
  for (const header of ['', issueToken(key, request), `Basic ${issueToken(key, request)}`]) {
    await expect(handler({ type: 'TOKEN', authorizationToken: header, methodArn: METHOD_ARN })).rejects.toThrow(/^Unauthorized$/);
  }
});

it('verifies an OIDC issuer\'s tokens beside a configured Cognito pool, and refuses an issuer that is neither', async () => {
  const verify = createVerifier(loadAuthConfig({ ...process.env, FHIR_COGNITO_USER_POOL_ID: 'eu-west-1_abcdef', FHIR_COGNITO_CLIENT_IDS: 'client-1' }));
  await expect(verify(issueToken(key, request))).resolves.toMatchObject({ iss: LOCAL_ISSUER, sub: 'u-1' });
  await expect(verify(withClaims({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other' }))).rejects.toThrow();
});

describe('issuer configuration', () => {
  const issuers = (value: unknown) => loadAuthConfig({ FHIR_OIDC_ISSUERS: JSON.stringify(value) }).oidcIssuers;

  it('accepts several issuers, an audience as a string or a list', () => {
    expect(
      issuers([
        { issuer: 'https://idp.example/realms/a', jwksUri: 'https://idp.example/realms/a/certs', audience: 'fhir' },
        { issuer: 'https://login.example', jwksUri: 'https://login.example/keys', audience: ['fhir', 'fhir-2'] },
      ]).map((issuer) => issuer.audience),
    ).toEqual([['fhir'], ['fhir', 'fhir-2']]);
  });

  it.each([
    ['keys over plain HTTP from another host', [{ issuer: 'https://idp.example', jwksUri: 'http://idp.example/keys', audience: 'fhir' }]],
    ['no audience', [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/keys' }]],
    ['an empty audience list', [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/keys', audience: [] }]],
    ['no issuer', [{ jwksUri: 'https://idp.example/keys', audience: 'fhir' }]],
    ['an object instead of a list', { issuer: 'https://idp.example', jwksUri: 'https://idp.example/keys', audience: 'fhir' }],
  ])('refuses %s', (_why, value) => {
    expect(() => issuers(value)).toThrow(/FHIR_OIDC_ISSUERS/);
  });

  it('refuses a Cognito pool without the app clients it may issue for', () => {
    expect(() => loadAuthConfig({ FHIR_COGNITO_USER_POOL_ID: 'eu-west-1_abc' })).toThrow(/FHIR_COGNITO_CLIENT_IDS/);
  });
});
