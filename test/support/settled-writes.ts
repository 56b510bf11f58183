/**
 * Writes that the indexes have caught up with, for tests that mix them with lagging ones: stored
 * through a client without the simulated GSI lag (so every GSI shows them), indexed into the test
 * index when one is given, and their recent-change items removed, as the stream processor does
 * once a change is searchable everywhere. What a search finds of them it finds through the GSIs
 * and the index, not through the recent-changes overlay.
 */
import type { Resource } from '@medplum/fhirtypes';
import { config } from '../../core/config.js';
import { updateResource } from '../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../core/search/dynamodb/engine.js';
import { createDocumentClient } from '../../core/storage/dynamo-client.js';
import { RecentChanges } from '../../core/storage/recent-changes.js';
import { ResourceRepository } from '../../core/storage/repository.js';
import { parseTenantId } from '../../core/tenant.js';
import { indexResources, type TestIndex } from './opensearch.js';

/** Writes `resource` (update-as-create by its id) settled; returns it as stored. */
export type SettledWriter = (tenant: string, resource: Resource) => Promise<Resource>;

export function settledWriter(index?: TestIndex): SettledWriter {
  const { region, dynamoEndpoint, tableName } = config();
  const repository = new ResourceRepository(createDocumentClient({ region, dynamoEndpoint }), tableName);
  const recentChanges = new RecentChanges(repository);
  return async (tenant, resource) => {
    const context = { repository, searchEngine: new DynamoSearchEngine(repository, config().maxSearchScan), tenant: parseTenantId(tenant), principal: 'settled-writer' };
    const { version } = await updateResource(context, resource.resourceType, resource.id, resource, undefined);
    const stored = version.resource as Resource;
    if (index) {
      await indexResources(index, tenant, [stored]);
    }
    await recentChanges.forget([{ tenant: context.tenant, resourceType: version.resourceType, id: version.id, version: version.version }]);
    return stored;
  };
}
