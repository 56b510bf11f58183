/**
 * The recent-changes overlay: what makes every search see every acknowledged write although the
 * GSIs (and the OpenSearch index) catch up with the table asynchronously.
 *
 * Every write puts one small item per resource it writes into its type's recent-change partition
 * (keys.ts: a few shards per tenant and type), in the same TransactWriteItems as the version
 * (version-items.ts), so the item exists exactly when the write is acknowledged. A search reads
 * the shards of each type it touches with strongly consistent queries, reads those resources'
 * current versions (strongly consistent, transaction markers settled) and lets them override
 * whatever the index or a GSI said about them (the engines merge them: docs/consistency.md).
 *
 * The stream processor removes an item once its change is searchable everywhere: indexed, the
 * index refreshed, and the write older than `settleMs`, the bound assumed for GSI propagation.
 * The removal is conditioned on the version, so a newer write's item is never removed early.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { FhirError } from '../errors.js';
import { mapLimited } from '../map-limited.js';
import type { TenantId } from '../tenant.js';
import { RECENT_CHANGE_SHARDS, recentChangeKey, recentChangesPK } from './keys.js';
import { queryPages } from './paginate.js';
import type { RecentSet, ResourceRepository } from './repository.js';

export type { RecentSet } from './repository.js';

/** One search's view: each type's recent changes read once, however often the search asks. */
export type RecentChangesReader = (resourceType: string) => Promise<RecentSet>;

/** A change the indexes have: its item may go, unless a newer version has replaced it. */
export interface IndexedChange {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
}

/** Removals in flight at once. */
const FORGET_PARALLEL = 16;

/**
 * Most recent changes of one type a search merges. More means the stream processor is far behind
 * (about 10 s of a type's peak write rate of one table partition): the search is refused with a 503
 * rather than made ever more expensive.
 */
export const MAX_RECENT_CHANGES = 10_000;

export class RecentChanges {
  constructor(
    private readonly repository: ResourceRepository,
    private readonly limit = MAX_RECENT_CHANGES,
  ) {}

  reader(tenant: TenantId): RecentChangesReader {
    const read = new Map<string, Promise<RecentSet>>();
    return (resourceType) => {
      if (!read.has(resourceType)) {
        read.set(resourceType, this.read(tenant, resourceType));
      }
      return read.get(resourceType) as Promise<RecentSet>;
    };
  }

  private async read(tenant: TenantId, resourceType: string): Promise<RecentSet> {
    const ids = new Set<string>();
    const shards = Array.from({ length: RECENT_CHANGE_SHARDS }, (_, shard) => recentChangesPK(tenant, resourceType, shard));
    await Promise.all(
      shards.map(async (partition) => {
        const pages = queryPages(
          this.repository.client,
          {
            TableName: this.repository.tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': partition },
            ProjectionExpression: 'SK',
            ConsistentRead: true,
          },
          { limit: () => this.limit + 1 - ids.size },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) {
            ids.add(String(item.SK));
          }
        }
      }),
    );
    if (ids.size > this.limit) {
      throw FhirError.of(503, 'transient', `More than ${this.limit} ${resourceType} resources were written since the search indexes last caught up; retry in a few seconds`);
    }
    const current = ids.size > 0 ? await this.repository.readCurrentMany(tenant, [...ids].map((id) => ({ resourceType, id }))) : [];
    return { refs: new Set([...ids].map((id) => `${resourceType}/${id}`)), current };
  }

  /** Removes the items of these changes, each only while it still stands for that version or an older one. */
  async forget(changes: readonly IndexedChange[]): Promise<void> {
    await mapLimited(changes, FORGET_PARALLEL, async (change) => {
      try {
        await this.repository.client.send(
          new DeleteCommand({
            TableName: this.repository.tableName,
            Key: recentChangeKey(change.tenant, change.resourceType, change.id),
            ConditionExpression: '#version <= :version',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':version': change.version },
          }),
        );
      } catch (error) {
        // Already gone, or a newer write's item: it stays for that write's own change.
        if (!(error instanceof ConditionalCheckFailedException)) {
          throw error;
        }
      }
    });
  }
}
