/**
 * The run's OpenSearch node (started by global-setup.ts) for tests of the OpenSearch engine: a
 * fresh index per test file, and a tenant's current resources indexed from the table by the
 * recovery reindex (`reindexTable`, with the stream processor's indexer).
 *
 *   const search = useOpenSearchIndex();
 *   await indexTenant(search, tenant);           // after writing through the API
 *   new OpenSearchEngine(search.client, search.index);
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, inject } from 'vitest';
import { config } from '../../core/config.js';
import { ResourceIndexer } from '../../core/search/opensearch/indexer.js';
import { ensureIndex } from '../../core/search/opensearch/mapping.js';
import { reindexTable } from '../../core/search/opensearch/reindex.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { parseTenantId } from '../../core/tenant.js';

export interface TestIndex {
  readonly url: string;
  readonly client: Client;
  readonly index: string;
}

/** Creates `fhir-test-<random>` in `beforeAll` (mapping.ts's settings and mappings) and deletes it in `afterAll`. */
export function useOpenSearchIndex(): TestIndex {
  const url = inject('openSearchUrl');
  const client = new Client({ node: url });
  const index = `fhir-test-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    await ensureIndex(client, index);
  });
  afterAll(async () => {
    await client.indices.delete({ index });
    await client.close();
  });
  return { url, client, index };
}

/** Indexes every current resource of `tenant` from the table (`reindexTable`) and waits until searches see them; returns how many. */
export async function indexTenant({ client, index }: TestIndex, tenant: string): Promise<number> {
  const summary = await reindexTable({
    client: createDocumentClient(config()),
    tableName: config().tableName,
    indexer: new ResourceIndexer(client, index),
    tenant: parseTenantId(tenant),
  });
  if (summary.failed > 0) {
    throw new Error(`${summary.failed} resources of ${tenant} could not be indexed, e.g. ${summary.failures[0]}`);
  }
  await client.indices.refresh({ index });
  return summary.indexed;
}

/** Indexes `resources` (each with an id and meta.lastUpdated) as version 1 of `tenant`'s, and waits until searches see them. */
export async function indexResources({ client, index }: TestIndex, tenant: string, resources: readonly Resource[]): Promise<void> {
  const tenantId = parseTenantId(tenant);
  const changes = resources.map((resource) => ({ tenant: tenantId, resourceType: resource.resourceType, id: resource.id!, version: 1, resource }));
  const failures = (await new ResourceIndexer(client, index).apply(changes, { refresh: true })).filter((failure) => failure !== undefined);
  if (failures.length > 0) {
    throw new Error(`${failures.length} resources could not be indexed, e.g. ${failures[0]!.message}`);
  }
}
