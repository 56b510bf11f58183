/**
 * The tenants a scheduled run reports on. With the search index: every tenant holding a
 * document (a terms aggregation over the `tenant` field: the tenants' names only, no data).
 * Without it, the table has no list of tenants that is not a whole-table scan, so the tenants are
 * the configured `FHIR_ANALYTICS_TENANTS`; a tenant can always run on demand (`POST /$analytics`).
 */
import type { Client } from '@opensearch-project/opensearch';
import { parseTenantId, type TenantId } from '../tenant.js';

const MANY_TENANTS = 10_000;

export async function tenantsWithData(index: { client: Client; index: string } | undefined, configured: { readonly tenants?: readonly string[] }): Promise<TenantId[]> {
  const named = (configured.tenants ?? []).map(parseTenantId);
  if (!index) {
    return named;
  }
  const response = await index.client.search({ index: index.index, body: { size: 0, aggs: { tenants: { terms: { field: 'tenant', size: MANY_TENANTS } } } } as never });
  const buckets = (response.body as unknown as { aggregations: { tenants: { buckets: { key: string }[] } } }).aggregations.tenants.buckets;
  return [...new Set([...buckets.map((bucket) => parseTenantId(bucket.key)), ...named])].sort();
}
