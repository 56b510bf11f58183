/**
 * A tenant's resources as the search index holds them (`_source.resource`), page by page in
 * `Type/id` order: the OpenSearch path's data-quality pass reads them here, from the tenant's
 * shard, without touching the table.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { Resource } from '@medplum/fhirtypes';
import { range, tenantScoped } from '../search/opensearch/dsl.js';
import type { TenantId } from '../tenant.js';

const PAGE = 1000;

/** Hands every indexed resource of the tenant last updated up to `asOf` to `visit`, a page at a time. */
export async function forEachIndexedResource(client: Client, index: string, tenant: TenantId, asOf: string, visit: (resources: readonly Resource[]) => void): Promise<void> {
  let after: readonly unknown[] | undefined;
  do {
    const scoped = tenantScoped(tenant, { query: range('lastUpdated', 'lte', Date.parse(asOf)), sort: [{ ref: 'asc' }], size: PAGE, _source: ['resource'], ...(after ? { search_after: after } : {}) });
    const response = await client.search({ index, routing: scoped.routing, body: scoped.body as never });
    const hits = (response.body as unknown as { hits: { hits: { _source: { resource: Resource }; sort: unknown[] }[] } }).hits.hits;
    visit(hits.map((hit) => hit._source.resource));
    after = hits.length === PAGE ? hits[hits.length - 1]!.sort : undefined;
  } while (after);
}
