import type { APIGatewayProxyEvent } from 'aws-lambda';
import { CONTEXT_TENANT_KEY, type Identity, identityFromClaims } from '../../core/auth/identity.js';
import type { RuntimeConfig } from '../../core/config.js';
import { FhirError } from '../../core/errors.js';
import { parseTenantId } from '../../core/tenant.js';
import { headersOf } from './http.js';

/** What local-dev mode grants: everything, within the tenant the caller names. */
const LOCAL_DEV_SCOPES = [{ context: 'system', resourceType: '*', permissions: ['c', 'r', 'u', 'd', 's'] }] as const;

/**
 * Who is calling. Deployed (and under `npm start`), only from the Lambda authorizer's context
 * (`functions/authorizer.ts`), which holds the verified token's identity; without it the request
 * is 401. In local-dev mode, which `loadConfig` refuses outside a local runtime, the tenant is
 * `X-Tenant-ID` (else the default tenant), the subject `X-User`, and the scopes `system/*.cruds`.
 */
export function identityOf(event: APIGatewayProxyEvent, config: RuntimeConfig): Identity {
  if (config.authMode === 'local-dev') {
    const headers = headersOf(event);
    return { tenant: parseTenantId(localDevTenant(event) ?? config.defaultTenant), subject: headers['x-user'] || 'local-developer', scopes: LOCAL_DEV_SCOPES };
  }
  const context = event.requestContext?.authorizer;
  if (!context || context[CONTEXT_TENANT_KEY] === undefined) {
    throw FhirError.unauthorized('The request carries no verified identity');
  }
  return identityFromClaims(context, CONTEXT_TENANT_KEY);
}

/** `X-Tenant-ID` in any case; sent twice it is ambiguous, so 400 rather than a guess. */
function localDevTenant(event: APIGatewayProxyEvent): string | undefined {
  const values = Object.entries(event.multiValueHeaders ?? {}).flatMap(([name, list]) => (name.toLowerCase() === 'x-tenant-id' ? (list ?? []) : []));
  if (values.length > 1) {
    throw FhirError.badRequest('X-Tenant-ID is sent more than once');
  }
  return values[0] ?? headersOf(event)['x-tenant-id'];
}

export function tenantOf(event: APIGatewayProxyEvent, config: RuntimeConfig): Identity['tenant'] {
  return identityOf(event, config).tenant;
}

/** The caller for audit records: the verified subject (`X-User` in local-dev mode). */
export function principalOf(event: APIGatewayProxyEvent, config: RuntimeConfig): string {
  return identityOf(event, config).subject;
}
