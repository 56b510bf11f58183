import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { RuntimeConfig } from '../../core/config.js';
import { FhirError } from '../../core/errors.js';
import { parseTenantId, type TenantId } from '../../core/tenant.js';
import { headersOf } from './http.js';

/**
 * The request's tenant. Deployed, it comes only from the authorizer's verified claims (a
 * Cognito/JWT authorizer's `claims`, or a Lambda authorizer's context); `X-Tenant-ID` is read
 * only in local-dev mode, which `loadConfig` refuses outside a local runtime.
 */
export function tenantOf(event: APIGatewayProxyEvent, config: RuntimeConfig): TenantId {
  if (config.authMode === 'local-dev') {
    return parseTenantId(headersOf(event)['x-tenant-id'] ?? config.defaultTenant);
  }
  const authorizer = event.requestContext?.authorizer as { claims?: Record<string, unknown>; [key: string]: unknown } | null | undefined;
  const claimed = authorizer?.claims?.[config.tenantClaim] ?? authorizer?.[config.tenantClaim];
  if (claimed === undefined) {
    throw FhirError.unauthorized('The request carries no verified tenant claim');
  }
  return parseTenantId(claimed);
}

/**
 * Who is calling, for audit: the verified `sub` claim (or a Lambda authorizer's `principalId`);
 * in local-dev mode `X-User`, else `local-developer`. Never trusted for access decisions.
 */
export function principalOf(event: APIGatewayProxyEvent, config: RuntimeConfig): string {
  if (config.authMode === 'local-dev') {
    return headersOf(event)['x-user'] || 'local-developer';
  }
  const authorizer = event.requestContext?.authorizer as { claims?: Record<string, unknown>; principalId?: unknown } | null | undefined;
  const subject = authorizer?.claims?.sub ?? authorizer?.claims?.client_id ?? authorizer?.principalId;
  return typeof subject === 'string' && subject ? subject : 'unknown';
}
