/**
 * What differs between stages, decided once from the stage name and the deploying shell's
 * environment, as plain data so tests can check it (test/infra/stage.test.ts).
 *
 * - `FHIR_CMK=on|off`: a customer-managed KMS key for the table, the topics and the dead-letter
 *   queue; always on in production.
 * - `FHIR_THROTTLE_RATE`, `FHIR_THROTTLE_BURST`: the API stage's steady requests per second and
 *   burst (defaults 500 and 1000; API Gateway's account quota is 10,000/5,000).
 * - `FHIR_LOG_RETENTION`: how long function and access logs are kept (default 1 year in
 *   production, 2 weeks elsewhere); one of SST's retention names, e.g. "6 months".
 * - `FHIR_OAUTH_CALLBACK_URLS`: comma-separated redirect URIs of the user-login app client.
 * - `FHIR_OIDC_ISSUERS`, `FHIR_TENANT_CLAIM`: passed to the authorizer (core/config.ts).
 * - `FHIR_CLIENT_TENANTS`: JSON `{ "appClientId": "tenant" }`, the tenant of each backend client
 *   of the user pool (functions/cognito-token-claims.ts); set after the first deployment names
 *   the clients, then deploy again.
 * - `FHIR_ANALYTICS_SCHEDULE`: when the analytics run reports on every tenant, an EventBridge
 *   Scheduler expression (`rate(…)` or `cron(…)`, UTC; default daily at 03:00), or `off`.
 * - `FHIR_ANALYTICS_REPORT_DAYS`: days analytics reports and run statuses are kept in their bucket
 *   (default 400), or `forever`.
 */
import { parseTenantId } from '../core/tenant';

export const PRODUCTION_STAGE = 'production';

const RETENTIONS = ['1 week', '2 weeks', '1 month', '3 months', '6 months', '1 year', '13 months', '18 months', '2 years', '3 years', '5 years', '6 years', '7 years', '10 years'] as const;
export type LogRetention = (typeof RETENTIONS)[number];

export interface StageSettings {
  readonly production: boolean;
  /** Deletion protection and point-in-time recovery on the table, retained on removal. */
  readonly protectData: boolean;
  readonly customerManagedKey: boolean;
  readonly throttle: { readonly rate: number; readonly burst: number };
  readonly logRetention: LogRetention;
  readonly callbackUrls: readonly string[];
  /** Backend app clients of the user pool and their tenants (`FHIR_CLIENT_TENANTS`). */
  readonly clientTenants: Readonly<Record<string, string>>;
  readonly analytics: {
    /** EventBridge Scheduler expression; undefined: no scheduled run (on demand only). */
    readonly schedule: `rate(${string})` | `cron(${string})` | undefined;
    /** Days a report is kept; undefined: forever. */
    readonly reportDays: number | undefined;
  };
}

export function stageSettings(stage: string, env: NodeJS.ProcessEnv): StageSettings {
  const production = stage === PRODUCTION_STAGE;
  const cmk = env.FHIR_CMK ?? 'off';
  if (cmk !== 'on' && cmk !== 'off') {
    throw new Error(`FHIR_CMK must be "on" or "off", got "${cmk}"`);
  }
  if (production && cmk === 'off' && env.FHIR_CMK !== undefined) {
    throw new Error('FHIR_CMK=off is refused in production: its data is encrypted with its own key');
  }
  const logRetention = (env.FHIR_LOG_RETENTION ?? (production ? '1 year' : '2 weeks')) as LogRetention;
  if (!RETENTIONS.includes(logRetention)) {
    throw new Error(`FHIR_LOG_RETENTION must be one of ${RETENTIONS.join(', ')}; got "${logRetention}"`);
  }
  return {
    production,
    protectData: production,
    customerManagedKey: production || cmk === 'on',
    throttle: { rate: positive(env, 'FHIR_THROTTLE_RATE', 500), burst: positive(env, 'FHIR_THROTTLE_BURST', 1000) },
    logRetention,
    callbackUrls: (env.FHIR_OAUTH_CALLBACK_URLS ?? 'http://localhost:8080/callback').split(',').filter((url) => url !== ''),
    clientTenants: clientTenants(env.FHIR_CLIENT_TENANTS),
    analytics: {
      schedule: analyticsSchedule(env.FHIR_ANALYTICS_SCHEDULE ?? 'cron(0 3 * * ? *)'),
      reportDays: env.FHIR_ANALYTICS_REPORT_DAYS === 'forever' ? undefined : positive(env, 'FHIR_ANALYTICS_REPORT_DAYS', 400),
    },
  };
}

function analyticsSchedule(raw: string): StageSettings['analytics']['schedule'] {
  if (raw === 'off') {
    return undefined;
  }
  if (!/^(rate|cron)\(.+\)$/.test(raw)) {
    throw new Error(`FHIR_ANALYTICS_SCHEDULE must be rate(…), cron(…) or off, got "${raw}"`);
  }
  return raw as `rate(${string})` | `cron(${string})`;
}

function isTenantId(value: unknown): boolean {
  try {
    parseTenantId(value);
    return true;
  } catch {
    return false;
  }
}

function clientTenants(raw: string | undefined): Record<string, string> {
  if (!raw) {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const entries = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed) : [];
  // Checked at deploy time rather than at a client's first token.
  if (entries.length === 0 || !entries.every(([, tenant]) => isTenantId(tenant))) {
    throw new Error(`FHIR_CLIENT_TENANTS must be a JSON object of app client ids to tenant ids, got ${raw}`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

/** The settings of the deploying shell that functions read too (core/config.ts), those that are set. */
export function passThrough(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}
