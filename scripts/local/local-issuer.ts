/**
 * The local token issuer: an RSA key pair created at the first `npm start` (or `npm run token`)
 * and kept in `.build/local-auth/`, whose public half the local server publishes as a JWKS. The
 * authorizer verifies its tokens exactly as it verifies a deployed IdP's, through
 * `FHIR_OIDC_ISSUERS`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAuthConfig, type OidcIssuerConfig } from '../../core/config.js';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';

/** A Lambda TOKEN authorizer, as API Gateway calls it. */
export type TokenAuthorizer = (event: APIGatewayTokenAuthorizerEvent, context: Context) => Promise<APIGatewayAuthorizerResult>;

/** What the local HTTP server needs to authorize as API Gateway does. */
export interface LocalAuth {
  /** Called for every non-public route, as API Gateway calls `functions/authorizer.ts`. */
  readonly authorizer: TokenAuthorizer;
  /** The local issuer's public keys, served at `JWKS_PATH`. */
  readonly jwks: Jwks;
}

export const LOCAL_ISSUER = 'fhir-serverless-local';
export const LOCAL_AUDIENCE = 'fhir-api';
export const JWKS_PATH = '/.well-known/jwks.json';
export const DEFAULT_KEY_DIR = '.build/local-auth';

export interface Jwks {
  readonly keys: readonly JsonWebKey[];
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  readonly jwks: Jwks;
}

/** The key in `dir`, created (readable by this user only) if there is none yet. */
export async function localSigningKey(dir: string = DEFAULT_KEY_DIR): Promise<SigningKey> {
  const file = join(dir, 'private-key.pem');
  try {
    return signingKey(createPrivateKey(await readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    // `wx`: a process that started at the same moment keeps its key, and this one reads it.
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return localSigningKey(dir);
    }
    throw error;
  }
  return signingKey(createPrivateKey(pem));
}

export function signingKey(privateKey: KeyObject): SigningKey {
  const { kty, n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
  return { privateKey, kid, jwks: { keys: [{ kty, n, e, kid, alg: 'RS256', use: 'sig' } as JsonWebKey] } };
}

/** How the authorizer is told to trust the local issuer whose JWKS is at `jwksUri`. */
export function localIssuerConfig(jwksUri: string): OidcIssuerConfig {
  return { issuer: LOCAL_ISSUER, jwksUri, audience: [LOCAL_AUDIENCE] };
}

export interface TokenRequest {
  readonly tenant: string;
  /** Space-separated SMART scopes. */
  readonly scope: string;
  readonly tenantClaim: string;
  readonly subject?: string;
  readonly patient?: string;
  readonly clientId?: string;
  readonly fhirUser?: string;
  readonly expiresInSeconds?: number;
}

/** An access token of the local issuer, as an IdP would issue it after a login. */
export function issueToken(key: SigningKey, request: TokenRequest): string {
  const now = Math.floor(Date.now() / 1000);
  const clientId = request.clientId ?? 'local-client';
  return signJwt(key, {
    iss: LOCAL_ISSUER,
    aud: LOCAL_AUDIENCE,
    sub: request.subject ?? 'local-user',
    client_id: clientId,
    scope: request.scope,
    [request.tenantClaim]: request.tenant,
    ...(request.patient !== undefined && { patient: request.patient }),
    ...(request.fhirUser !== undefined && { fhirUser: request.fhirUser }),
    iat: now,
    nbf: now,
    exp: now + (request.expiresInSeconds ?? 3600),
  });
}

/** RS256 JWS of `claims`, with the key's `kid`. */
export function signJwt(key: Pick<SigningKey, 'privateKey' | 'kid'>, claims: Record<string, unknown>): string {
  const signingInput = `${base64url({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${base64url(claims)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key.privateKey).toString('base64url')}`;
}

export function base64url(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** What the local server needs in JWT mode: `functions/authorizer.ts` and the keys it should find at `JWKS_PATH`. */
export async function localJwtAuth(): Promise<LocalAuth> {
  const [{ handler }, key] = await Promise.all([import('../../functions/authorizer.js'), localSigningKey()]);
  return { authorizer: handler, jwks: key.jwks };
}

/**
 * Adds the local issuer, whose JWKS the server at `baseUrl` serves, to the issuers the authorizer
 * trusts (`FHIR_OIDC_ISSUERS`, read at its first token), beside any configured there already.
 */
export function trustLocalIssuer(baseUrl: string, env: NodeJS.ProcessEnv): void {
  const configured = loadAuthConfig(env).oidcIssuers;
  env.FHIR_OIDC_ISSUERS = JSON.stringify([...configured, localIssuerConfig(baseUrl + JWKS_PATH)]);
}
