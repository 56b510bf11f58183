/**
 * What the table and the index each hold for a tenant, as `Type/id → version` of every live
 * resource: after the stream is processed the two must be equal, whatever faults came between.
 */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Client } from '@opensearch-project/opensearch';
import type { LocalSubscriber } from '../../scripts/local/messaging.js';
import { CURRENT_SK, resourcePKPrefix } from '../../core/storage/keys.js';
import type { TenantId } from '../../core/tenant.js';

export async function tableVersions(client: DynamoDBDocumentClient, tableName: string, tenant: string): Promise<Record<string, number>> {
  const versions: Record<string, number> = {};
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(PK, :prefix) AND SK = :current AND attribute_exists(version)',
        ExpressionAttributeValues: { ':prefix': resourcePKPrefix(tenant as TenantId), ':current': CURRENT_SK },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      if (!item.deleted) {
        versions[`${item.resourceType}/${item.id}`] = Number(item.version);
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return versions;
}

export async function indexedVersions(client: Client, index: string, tenant: string): Promise<Record<string, number>> {
  await client.indices.refresh({ index });
  const response = await client.search({
    index,
    routing: tenant,
    body: { query: { term: { tenant } }, size: 10_000, version: true, _source: ['ref'] } as never,
  });
  const versions: Record<string, number> = {};
  for (const hit of (response.body as any).hits.hits) {
    versions[hit._source.ref] = hit._version;
  }
  return versions;
}

/** Everything waiting in a subscriber's queue: waits for a first message, then until the queue stays empty. */
export async function receiveAll(subscriber: LocalSubscriber): Promise<Awaited<ReturnType<LocalSubscriber['receive']>>> {
  const received = [];
  for (;;) {
    const batch = await subscriber.receive({ waitMs: received.length === 0 ? 2000 : 300 });
    if (batch.length === 0) {
      return received;
    }
    received.push(...batch);
  }
}
