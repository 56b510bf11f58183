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
