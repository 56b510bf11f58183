/**
 * The recent-changes overlay: what makes every search see every acknowledged write although the
 * GSIs (and the OpenSearch index) catch up with the table asynchronously.
 *
 * Every write puts one small item per resource it writes into its type's recent-change partition
 * (keys.ts: a few shards per tenant and type), in the same TransactWriteItems as the version
 * (version-items.ts), so the item exists exactly when the write is acknowledged; it says when the
 * write happened (`writtenAt`). A search reads the shards of each type it touches with strongly
 * consistent queries, keeping only the items its engine still needs (`Reliance`), reads those
 * resources' current versions (strongly consistent, transaction markers settled) and lets them
 * override whatever the index or a GSI said about them (the engines merge them:
 * docs/consistency.md).
 *
 * The stream processor marks an item `indexedAt` once it has indexed that version (conditioned on
 * the version, so a newer write's item is never marked), which takes it out of OpenSearch searches
 * a refresh interval later; the DynamoDB engine needs it until the write is `settleMs` old, the
 * bound assumed for GSI propagation. Once neither needs it, the processor removes it, again
 * conditioned on the version, and never waits for that: an item not removed yet costs a search
 * only its key read.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { FhirError } from '../errors.js';
import { mapLimited } from '../map-limited.js';
import type { TenantId } from '../tenant.js';
import { RECENT_CHANGE_SHARDS, recentChangeKey, recentChangesPK } from './keys.js';
import { queryPages } from './paginate.js';
import type { RecentSet, ResourceRepository } from './repository.js';

export type { RecentSet } from './repository.js';

/** One search's view: each type's recent changes read once, however often the search asks. */
export type RecentChangesReader = (resourceType: string) => Promise<RecentSet>;

/**
 * What a search relies on besides the table, hence which recent changes it must still merge:
 * - `gsis` (the DynamoDB engine): those written less than `settleMs` ago;
 * - `{ indexRefreshMs }` (the OpenSearch engine): those the stream processor has not indexed, or
 *   indexed less than a refresh interval ago, so that their documents may not be searchable yet.
 */
export type Reliance = 'gsis' | { readonly indexRefreshMs: number };

/** A change the indexes have: its item may go, unless a newer version has replaced it. */
export interface IndexedChange {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
}

export interface RecentChangesOptions {
  /**
   * How long after a write the GSIs are assumed to show it (`FHIR_RECENT_CHANGES_SETTLE_MS`).
   * Without it, an item counts for the GSIs until the stream processor removes it.
   */
  readonly settleMs?: number;
  /** Most recent changes of one type a search merges (default `MAX_RECENT_CHANGES`). */
  readonly limit?: number;
  readonly now?: () => number;
}

/** Marks and removals in flight at once. */
const WRITE_PARALLEL = 16;

/**
 * Most recent changes of one type a search merges. More means the stream processor is far behind
 * (about 10 s of a type's peak write rate of one table partition): the search is refused with a 503
 * rather than made ever more expensive. Items the search no longer needs do not count.
 */
export const MAX_RECENT_CHANGES = 10_000;

export class RecentChanges {
  readonly settleMs: number;
  private readonly limit: number;
  private readonly now: () => number;

  constructor(
    private readonly repository: ResourceRepository,
    options: RecentChangesOptions = {},
  ) {
    this.settleMs = options.settleMs ?? Infinity;
    this.limit = options.limit ?? MAX_RECENT_CHANGES;
    this.now = options.now ?? Date.now;
  }

  /** A search's reader; what an item needs to be merged is judged at the search's start. */
  reader(tenant: TenantId, reliance: Reliance): RecentChangesReader {
    const read = new Map<string, Promise<RecentSet>>();
    const needed = this.stillNeeded(reliance, this.now());
    return (resourceType) => {
      if (!read.has(resourceType)) {
        read.set(resourceType, this.read(tenant, resourceType, needed));
      }
      return read.get(resourceType) as Promise<RecentSet>;
    };
  }

  /** The filter keeping the items a search relying on `reliance` needs at `now` (none: all of them). */
  private stillNeeded(reliance: Reliance, now: number): { attribute: string; after: number } | undefined {
    if (reliance !== 'gsis') {
      return { attribute: 'indexedAt', after: now - reliance.indexRefreshMs };
    }
    return Number.isFinite(this.settleMs) ? { attribute: 'writtenAt', after: now - this.settleMs } : undefined;
  }

  private async read(tenant: TenantId, resourceType: string, needed: { attribute: string; after: number } | undefined): Promise<RecentSet> {
    const ids = new Set<string>();
    const shards = Array.from({ length: RECENT_CHANGE_SHARDS }, (_, shard) => recentChangesPK(tenant, resourceType, shard));
    // An item without the attribute is not indexed yet (or was written before `writtenAt` existed).
    const filter = needed && {
      FilterExpression: 'attribute_not_exists(#at) OR #at > :after',
      ExpressionAttributeNames: { '#at': needed.attribute },
    };
    await Promise.all(
      shards.map(async (partition) => {
        const pages = queryPages(
          this.repository.client,
          {
            TableName: this.repository.tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': partition, ...(needed && { ':after': needed.after }) },
            ProjectionExpression: 'SK',
            ConsistentRead: true,
            ...filter,
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

  /** Records that these changes were indexed at `indexedAt`, on each item that still stands for that very version. */
  async markIndexed(changes: readonly IndexedChange[], indexedAt: number): Promise<void> {
    await this.eachItem(changes, (change) =>
      new UpdateCommand({
        TableName: this.repository.tableName,
        Key: recentChangeKey(change.tenant, change.resourceType, change.id),
        UpdateExpression: 'SET indexedAt = :at',
        ConditionExpression: '#version = :version',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':version': change.version, ':at': indexedAt },
      }),
    );
  }

  /** Removes the items of these changes, each only while it still stands for that version or an older one. */
  async forget(changes: readonly IndexedChange[]): Promise<void> {
    await this.eachItem(changes, (change) =>
      new DeleteCommand({
        TableName: this.repository.tableName,
        Key: recentChangeKey(change.tenant, change.resourceType, change.id),
        ConditionExpression: '#version <= :version',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':version': change.version },
      }),
    );
  }

  /** One conditional write per change; a failed condition (gone, or a newer write's item) is no error. */
  private async eachItem(changes: readonly IndexedChange[], command: (change: IndexedChange) => UpdateCommand | DeleteCommand): Promise<void> {
    await mapLimited(changes, WRITE_PARALLEL, async (change) => {
      try {
        await this.repository.client.send(command(change));
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) {
          throw error;
        }
      }
    });
  }
}
