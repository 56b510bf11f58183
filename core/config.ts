/**
 * Runtime configuration, resolved once per process (cold start) from the environment.
 * A missing or contradictory setting fails here with a message naming the variable.
 */
export type AuthMode = 'jwt' | 'local-dev';

export interface RuntimeConfig extends AuthConfig {
  /** DynamoDB table holding every tenant's resources. */
  readonly tableName: string;
  /** `FHIR_BASE_URL`: the API's public URL, for `Location` and Bundle links (deployed: set from the API; else as the client reached it). */
  readonly baseUrl: string | undefined;
  readonly region: string;
  /** Set only for DynamoDB Local; unset means the regional AWS endpoint. */
  readonly dynamoEndpoint: string | undefined;
  /** Tenant used in local-dev auth mode when a request carries no `X-Tenant-ID`. */
  readonly defaultTenant: string;
  /** Largest request body accepted, in bytes (API Gateway itself stops at 10 MB). */
  readonly maxRequestBytes: number;
  /** Largest and default page size for lists (history, search). */
  readonly maxPageSize: number;
  readonly defaultPageSize: number;
  /** Most resources of one type the DynamoDB search engine reads for one query before refusing it. */
  readonly maxSearchScan: number;
  /**
   * How old a write must be before the stream processor removes its recent-change item (besides
   * being indexed): the bound assumed for GSI propagation (docs/consistency.md).
   */
  readonly recentChangesSettleMs: number;
  /**
   * Tests and local runs only (`FHIR_SIMULATE_GSI_LAG_MS`): GSI queries leave out items written
   * less than this long ago by this process, as AWS's asynchronous GSIs may; undefined: off.
   */
  readonly simulatedGsiLagMs: number | undefined;
  /** The search index the stream processor keeps; undefined: search runs on DynamoDB only. */
  readonly openSearch: OpenSearchConfig | undefined;
  /** Where change and audit events are published; undefined topics: not published (local runs without SNS). */
  readonly events: EventsConfig;
  /** Bulk Data `$export`: its bucket and work queue; undefined: `$export` answers 501. */
  readonly export: ExportConfig | undefined;
}

/** Who may call and how their tokens are checked: what the Lambda authorizer needs (it has no table). */
export interface AuthConfig {
  readonly authMode: AuthMode;
  /** The verified JWT claim that names the tenant. */
  readonly tenantClaim: string;
  /** The stack's own Cognito user pool, whose access tokens are accepted; undefined: none. */
  readonly cognito: CognitoIssuerConfig | undefined;
  /** Other OpenID Connect issuers whose access tokens are accepted (an organization's own IdP, the local issuer). */
  readonly oidcIssuers: readonly OidcIssuerConfig[];
  /** The OAuth endpoints SMART clients are sent to (`/.well-known/smart-configuration`); undefined: none advertised. */
  readonly oauth: OAuthEndpoints | undefined;
}

export interface CognitoIssuerConfig {
  readonly userPoolId: string;
  /** App clients whose access tokens are accepted (Cognito access tokens carry `client_id`, not `aud`). */
  readonly clientIds: readonly string[];
}

export interface OidcIssuerConfig {
  /** The `iss` of its tokens. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** Tokens must name one of these in `aud`. */
  readonly audience: readonly string[];
}

export interface OAuthEndpoints {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
}

export interface OpenSearchConfig {
  /** `https://domain-endpoint` deployed; a local node's `http://127.0.0.1:N` (user:password@ allowed). */
  readonly url: string;
  /** The index (or alias) of current resources of every tenant. */
  readonly index: string;
  /** `sigv4` signs requests with the function's IAM role (Amazon OpenSearch Service). */
  readonly auth: 'sigv4' | 'none';
}

export interface EventsConfig {
  readonly changeTopicArn: string | undefined;
  readonly auditTopicArn: string | undefined;
  /** Set only for a local SNS emulator. */
  readonly snsEndpoint: string | undefined;
}

export interface ExportConfig {
  /** `FHIR_EXPORT_BUCKET`: the S3 bucket of the NDJSON files. */
  readonly bucket: string;
  /** `FHIR_EXPORT_QUEUE_URL`: the SQS queue of export work (plan and chunk messages) the export worker consumes. */
  readonly queueUrl: string;
  /** Set only for a local S3/SQS emulator (fauxqs): `S3_ENDPOINT`, `SQS_ENDPOINT`. */
  readonly s3Endpoint: string | undefined;
  readonly sqsEndpoint: string | undefined;
  /** A file is closed once it holds this many bytes (`FHIR_EXPORT_MAX_FILE_BYTES`). */
  readonly maxFileBytes: number;
  /** Resources per chunk, the unit of parallel work (`FHIR_EXPORT_CHUNK_RESOURCES`). */
  readonly chunkResources: number;
  /** Lifetime of the manifest's presigned URLs (`FHIR_EXPORT_URL_SECONDS`). */
  readonly urlSeconds: number;
  /** Days an export's files (and its status) are kept (`FHIR_EXPORT_RETENTION_DAYS`); the bucket's lifecycle rule expires them too. */
  readonly retentionDays: number;
}

export class ConfigError extends Error {}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) {
    throw new ConfigError(`Missing required environment variable ${name}`);
  }
  return value;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

function isLoopback(url: string | undefined): boolean {
  if (!url) {
    return false;
  }
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
  } catch {
    return false;
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const maxPageSize = positiveInt(env, 'FHIR_MAX_PAGE_SIZE', 1000);
  return {
    ...loadAuthConfig(env),
    tableName: required(env, 'FHIR_TABLE_NAME'),
    baseUrl: env.FHIR_BASE_URL?.replace(/\/+$/, '') || undefined,
    region: env.AWS_REGION ?? 'us-east-1',
    dynamoEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    defaultTenant: env.FHIR_DEFAULT_TENANT ?? 'default',
    maxRequestBytes: positiveInt(env, 'FHIR_MAX_REQUEST_BYTES', 5 * 1024 * 1024),
    maxPageSize,
    defaultPageSize: Math.min(positiveInt(env, 'FHIR_DEFAULT_PAGE_SIZE', 20), maxPageSize),
    maxSearchScan: positiveInt(env, 'FHIR_SEARCH_MAX_SCAN', 10_000),
    ...recentChangesTiming(env),
    openSearch: openSearchConfig(env),
    export: exportConfig(env),
    events: {
      changeTopicArn: env.FHIR_CHANGE_TOPIC_ARN || undefined,
      auditTopicArn: env.FHIR_AUDIT_TOPIC_ARN || undefined,
      snsEndpoint: env.SNS_ENDPOINT || undefined,
    },
  };
}

function recentChangesTiming(env: NodeJS.ProcessEnv): Pick<RuntimeConfig, 'recentChangesSettleMs' | 'simulatedGsiLagMs'> {
  const lag = env.FHIR_SIMULATE_GSI_LAG_MS ? positiveInt(env, 'FHIR_SIMULATE_GSI_LAG_MS', 0) : undefined;
  if (lag !== undefined && (!isLoopback(env.DYNAMODB_ENDPOINT) || env.AWS_LAMBDA_FUNCTION_NAME)) {
    throw new ConfigError('FHIR_SIMULATE_GSI_LAG_MS is only allowed with a loopback DYNAMODB_ENDPOINT outside AWS Lambda');
  }
  // A simulated lag longer than the settle time would break the assumption the settle time stands for.
  const settle = positiveInt(env, 'FHIR_RECENT_CHANGES_SETTLE_MS', 3_000);
  return { recentChangesSettleMs: lag === undefined ? settle : Math.max(settle, lag + 1_000), simulatedGsiLagMs: lag };
}

/**
 * The authentication settings alone. Issuers:
 * - `FHIR_COGNITO_USER_POOL_ID` and `FHIR_COGNITO_CLIENT_IDS` (comma-separated): the stack's pool;
 * - `FHIR_OIDC_ISSUERS`: a JSON array of `{ "issuer", "jwksUri", "audience" }` (audience a string
 *   or an array), each an https URL (http only on loopback, for the local issuer).
 */
export function loadAuthConfig(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const dynamoEndpoint = env.DYNAMODB_ENDPOINT || undefined;
  const authMode = (env.FHIR_AUTH_MODE ?? 'jwt') as AuthMode;
  if (authMode !== 'jwt' && authMode !== 'local-dev') {
    throw new ConfigError(`FHIR_AUTH_MODE must be "jwt" or "local-dev", got "${authMode}"`);
  }
  // The header-based development mode trusts the caller's X-Tenant-ID. It is refused unless
  // the process talks to a DynamoDB on this machine and is not running inside AWS Lambda, so a
  // deployed stage cannot be switched into it by a stray environment variable.
  if (authMode === 'local-dev' && (!isLoopback(dynamoEndpoint) || env.AWS_LAMBDA_FUNCTION_NAME)) {
    throw new ConfigError('FHIR_AUTH_MODE=local-dev is only allowed with a loopback DYNAMODB_ENDPOINT outside AWS Lambda');
  }
  return {
    authMode,
    tenantClaim: env.FHIR_TENANT_CLAIM ?? 'custom:tenant_id',
    cognito: cognitoConfig(env),
    oidcIssuers: oidcIssuers(env),
    oauth: oauthEndpoints(env),
  };
}

function cognitoConfig(env: NodeJS.ProcessEnv): CognitoIssuerConfig | undefined {
  const userPoolId = env.FHIR_COGNITO_USER_POOL_ID;
  if (!userPoolId) {
    return undefined;
  }
  const clientIds = (env.FHIR_COGNITO_CLIENT_IDS ?? '').split(',').filter((id) => id !== '');
  if (clientIds.length === 0) {
    throw new ConfigError('FHIR_COGNITO_CLIENT_IDS must name the app clients whose tokens FHIR_COGNITO_USER_POOL_ID may issue');
  }
  return { userPoolId, clientIds };
}

function oidcIssuers(env: NodeJS.ProcessEnv): OidcIssuerConfig[] {
  const raw = env.FHIR_OIDC_ISSUERS;
  if (!raw) {
    return [];
  }
  const fail = (why: string): never => {
    throw new ConfigError(`FHIR_OIDC_ISSUERS must be a JSON array of {"issuer", "jwksUri", "audience"}: ${why}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail('not JSON');
  }
  if (!Array.isArray(parsed)) {
    return fail('not an array');
  }
  return parsed.map((entry: Record<string, unknown>) => {
    const audience = typeof entry?.audience === 'string' ? [entry.audience] : entry?.audience;
    if (typeof entry?.issuer !== 'string' || !entry.issuer || !Array.isArray(audience) || audience.length === 0 || !audience.every((item) => typeof item === 'string')) {
      return fail(`entry ${JSON.stringify(entry)} lacks an issuer or an audience`);
    }
    // Keys fetched over plain HTTP could be swapped on the way: only a loopback issuer may use it.
    if (typeof entry.jwksUri !== 'string' || !(entry.jwksUri.startsWith('https://') || (entry.jwksUri.startsWith('http://') && isLoopback(entry.jwksUri)))) {
      return fail(`the jwksUri of ${entry.issuer} must be an https URL (http only on loopback)`);
    }
    return { issuer: entry.issuer, jwksUri: entry.jwksUri, audience: audience as string[] };
  });
}

function oauthEndpoints(env: NodeJS.ProcessEnv): OAuthEndpoints | undefined {
  const issuer = env.FHIR_OAUTH_ISSUER;
  if (!issuer) {
    return undefined;
  }
  return {
    issuer,
    authorizationEndpoint: required(env, 'FHIR_OAUTH_AUTHORIZATION_ENDPOINT'),
    tokenEndpoint: required(env, 'FHIR_OAUTH_TOKEN_ENDPOINT'),
  };
}

function exportConfig(env: NodeJS.ProcessEnv): ExportConfig | undefined {
  const bucket = env.FHIR_EXPORT_BUCKET || undefined;
  const queueUrl = env.FHIR_EXPORT_QUEUE_URL || undefined;
  if (!bucket && !queueUrl) {
    return undefined;
  }
  if (!bucket || !queueUrl) {
    throw new ConfigError(`FHIR_EXPORT_BUCKET and FHIR_EXPORT_QUEUE_URL are set together; ${bucket ? 'FHIR_EXPORT_QUEUE_URL' : 'FHIR_EXPORT_BUCKET'} is missing`);
  }
  return {
    bucket,
    queueUrl,
    s3Endpoint: env.S3_ENDPOINT || undefined,
    sqsEndpoint: env.SQS_ENDPOINT || undefined,
    maxFileBytes: positiveInt(env, 'FHIR_EXPORT_MAX_FILE_BYTES', 64 * 1024 * 1024),
    chunkResources: positiveInt(env, 'FHIR_EXPORT_CHUNK_RESOURCES', 20_000),
    urlSeconds: positiveInt(env, 'FHIR_EXPORT_URL_SECONDS', 3600),
    retentionDays: positiveInt(env, 'FHIR_EXPORT_RETENTION_DAYS', 7),
  };
}

function openSearchConfig(env: NodeJS.ProcessEnv): OpenSearchConfig | undefined {
  const url = env.OPENSEARCH_URL;
  if (!url) {
    return undefined;
  }
  try {
    new URL(url);
  } catch {
    throw new ConfigError(`OPENSEARCH_URL must be a URL, got "${url}"`);
  }
  // Signed by default inside Lambda (Amazon OpenSearch Service), plain elsewhere (a local node).
  const auth = env.OPENSEARCH_AUTH ?? (env.AWS_LAMBDA_FUNCTION_NAME ? 'sigv4' : 'none');
  if (auth !== 'sigv4' && auth !== 'none') {
    throw new ConfigError(`OPENSEARCH_AUTH must be "sigv4" or "none", got "${auth}"`);
  }
  return { url, index: env.OPENSEARCH_INDEX || 'fhir-resources', auth };
}

let cached: RuntimeConfig | undefined;

export function config(): RuntimeConfig {
  cached ??= loadConfig();
  return cached;
}
