/**
 * A tenant's live resources read through the table's own access paths, for the analytics run
 * without OpenSearch and for its data-quality pass: for each resource type, the keys of the
 * type's GSI3 partition (type by lastUpdated; keys only), then the bodies with BatchGetItem
 * through the repository (strongly consistent, transaction markers settled). Only the tenant's
 * partitions are read, never the whole table, so the cost follows the tenant's data: one Query
 * per type and 1 MB of keys, one BatchGetItem per 100 resources.
 */
import type { Resource } from '@medplum/fhirtypes';
import { mapLimited } from '../map-limited.js';
import { resourceTypes } from '../r4/definitions.js';
import { gsi3TypePartition, parseResourcePK } from '../storage/keys.js';
import { queryPages } from '../storage/paginate.js';
import type { ResourceRepository } from '../storage/repository.js';
import type { TenantId } from '../tenant.js';

/** BatchGetItem's own limit. */
const BODIES_PER_READ = 100;
/** Types read at once; each reads its bodies one batch at a time. */
const TYPES_IN_FLIGHT = 4;

/** Hands every live resource of the tenant to `visit`, a batch at a time (batches of one type, in no particular order across types). */
export async function forEachTableResource(repository: ResourceRepository, tenant: TenantId, visit: (resources: readonly Resource[]) => void): Promise<void> {
  await mapLimited(resourceTypes(), TYPES_IN_FLIGHT, async (resourceType) => {
    let keys: { resourceType: string; id: string }[] = [];
    const flush = async () => {
      const versions = await repository.readCurrentMany(tenant, keys);
      keys = [];
      visit(versions.flatMap((version) => (version.resource ? [version.resource] : [])));
    };
    const pages = queryPages(repository.client, {
      TableName: repository.tableName,
      IndexName: 'GSI3',
      KeyConditionExpression: 'GSI3PK = :pk',
      ExpressionAttributeValues: { ':pk': gsi3TypePartition(tenant, resourceType) },
    });
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const key = parseResourcePK(String(item.PK));
        if (key) {
          keys.push(key);
        }
        if (keys.length === BODIES_PER_READ) {
          await flush();
        }
      }
    }
    if (keys.length > 0) {
      await flush();
    }
  });
}

/** Live resources per type, from the keys of each type's GSI3 partition alone (`Select: COUNT`); types without any are left out. */
export async function tableTypeCounts(repository: ResourceRepository, tenant: TenantId): Promise<{ resourceType: string; count: number }[]> {
  const counts = await mapLimited(resourceTypes(), TYPES_IN_FLIGHT * 4, async (resourceType) => {
    let count = 0;
    const pages = queryPages(repository.client, {
      TableName: repository.tableName,
      IndexName: 'GSI3',
      KeyConditionExpression: 'GSI3PK = :pk',
      ExpressionAttributeValues: { ':pk': gsi3TypePartition(tenant, resourceType) },
      Select: 'COUNT',
    });
    for await (const page of pages) {
      count += page.Count ?? 0;
    }
    return { resourceType, count };
  });
  return counts.filter(({ count }) => count > 0);
}
