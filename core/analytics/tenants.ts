/**
 * The tenants a scheduled run reports on: every tenant in the table's tenant registry (one Query;
 * the stream processor records each tenant it sees a change of), plus the configured
 * `FHIR_ANALYTICS_TENANTS` — tenants whose last write predates the registry. A tenant can always
 * run on demand (`POST /$analytics`).
 */
import type { TenantRegistry } from '../storage/tenant-registry.js';
import { parseTenantId, type TenantId } from '../tenant.js';

export async function tenantsToReport(registry: TenantRegistry, configured: readonly string[]): Promise<TenantId[]> {
  return [...new Set([...(await registry.tenants()), ...configured.map(parseTenantId)])].sort();
}
