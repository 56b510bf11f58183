/**
 * Runtime configuration, resolved once per process (cold start) from the environment.
 * A missing or contradictory setting fails here with a message naming the variable.
 */
export type AuthMode = 'jwt' | 'local-dev';

export interface RuntimeConfig {
  /** DynamoDB table holding every tenant's resources. */
  readonly tableName: string;
  readonly region: string;
  /** Set only for DynamoDB Local; unset means the regional AWS endpoint. */
  readonly dynamoEndpoint: string | undefined;
  readonly authMode: AuthMode;
  /** The verified JWT claim (or Lambda-authorizer context key) that names the tenant. */
  readonly tenantClaim: string;
  /** Tenant used in local-dev auth mode when a request carries no `X-Tenant-ID`. */
  readonly defaultTenant: string;
  /** Largest request body accepted, in bytes (API Gateway itself stops at 10 MB). */
  readonly maxRequestBytes: number;
  /** Largest and default page size for lists (history, search). */
  readonly maxPageSize: number;
  readonly defaultPageSize: number;
  /** Most resources of one type the DynamoDB search engine reads for one query before refusing it. */
  readonly maxSearchScan: number;
  /** The search index the stream processor keeps; undefined: search runs on DynamoDB only. */
  readonly openSearch: OpenSearchConfig | undefined;
  /** Where change and audit events are published; undefined topics: not published (local runs without SNS). */
  readonly events: EventsConfig;
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
  const maxPageSize = positiveInt(env, 'FHIR_MAX_PAGE_SIZE', 1000);
  return {
    tableName: required(env, 'FHIR_TABLE_NAME'),
    region: env.AWS_REGION ?? 'us-east-1',
    dynamoEndpoint,
    authMode,
    tenantClaim: env.FHIR_TENANT_CLAIM ?? 'custom:tenant_id',
    defaultTenant: env.FHIR_DEFAULT_TENANT ?? 'default',
    maxRequestBytes: positiveInt(env, 'FHIR_MAX_REQUEST_BYTES', 5 * 1024 * 1024),
    maxPageSize,
    defaultPageSize: Math.min(positiveInt(env, 'FHIR_DEFAULT_PAGE_SIZE', 20), maxPageSize),
    maxSearchScan: positiveInt(env, 'FHIR_SEARCH_MAX_SCAN', 10_000),
    openSearch: openSearchConfig(env),
    events: {
      changeTopicArn: env.FHIR_CHANGE_TOPIC_ARN || undefined,
      auditTopicArn: env.FHIR_AUDIT_TOPIC_ARN || undefined,
      snsEndpoint: env.SNS_ENDPOINT || undefined,
    },
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
