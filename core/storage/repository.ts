/**
 * Versioned resource storage on the single table.
 *
 * A write of one resource is one `TransactWriteItems` (`directWriteItems`):
 *   - the CURRENT item, conditioned on the exact state the write was planned against (absent,
 *     or version n with its deleted flag, and no open transaction): optimistic locking, no lost
 *     updates;
 *   - the new VERSION#n+1 item, conditioned on not existing: history has no gaps and no
 *     version is ever overwritten;
 *   - its lookup items.
 * A failed condition returns the item's actual state (ReturnValuesOnConditionCheckFailure), so
 * a retry needs no extra read. Reads of the current version are one strongly consistent GetItem.
 *
 * Several resources are written all or nothing by `commitAtomically`: one TransactWriteItems
 * when they fit, beyond that the commit protocol of transaction-log.ts. Every read here settles
 * that protocol's markers, so a transaction's versions appear to reads, history and index
 * queries all at once at its commit point, and never if it is rolled back. The index scans of
 * the DynamoDB search engine (index-scans.ts) read their resources through `readCurrentMany`.
 */
import { TransactionCanceledException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { TenantId } from '../tenant.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import {
  CURRENT_SK,
  STAGED_SK,
  VERSION_SK_PREFIX,
  gsi3HistoryPartition,
  gsi3TypePartition,
  parseResourcePK,
  resourcePK,
  versionFromSK,
  versionSK,
} from './keys.js';
import { TransactionLog, type TransactionLogOptions } from './transaction-log.js';
import {
  backoff,
  batchGetItems,
  directWriteItems,
  isPlaceholder,
  itemKey,
  pendingVersion,
  planVersion,
  stateOf,
  toVersion,
  type KnownState,
  type ResourceKey,
  type ResourceVersion,
  type StoredItem,
  type TableItem,
  type WriteMethod,
} from './version-items.js';

export type { ResourceKey, ResourceVersion, WriteMethod } from './version-items.js';

/** What a planned write does: store `resource` as the next version, store a deletion, or nothing. */
export type WritePlan =
  | { readonly kind: 'write'; readonly method: WriteMethod; readonly resource?: Resource }
  | { readonly kind: 'unchanged'; readonly result: ResourceVersion | undefined };

export interface WriteResult {
  /** The version written, or the current one when the plan changed nothing. */
  readonly version: ResourceVersion | undefined;
  /** The state the write replaced (undefined: the resource did not exist). */
  readonly previous: ResourceVersion | undefined;
  readonly written: boolean;
}

/** A type's recently written resources (recent-changes.ts): their `Type/id`, deleted ones included, and their current versions. */
export interface RecentSet {
  readonly refs: ReadonlySet<string>;
  readonly current: readonly ResourceVersion[];
}

export interface Page<T> {
  readonly items: T[];
  /** Opaque cursor of the next page; absent on the last page. */
  readonly next?: string;
}

/** The state `readWriteState` returns; opaque to callers except for `current`. */
export type WriteState = KnownState;

/** The state of a resource under a fresh server-assigned id: nothing to read, it cannot exist. */
export const NEW_RESOURCE_STATE: WriteState = { kind: 'absent', fresh: true };

/** One resource's part of an atomic multi-resource commit. */
export interface PlannedWrite {
  readonly key: ResourceKey;
  /** From `readWriteState`: the write fails (409) if the resource changed since. */
  readonly state: WriteState;
  readonly method: WriteMethod;
  /** The new content; undefined writes a deletion. */
  readonly resource?: Resource;
  /** The authenticated principal, recorded on the version for audit. */
  readonly author?: string;
}

class StaleStateError extends Error {
  constructor(readonly actual: KnownState) {
    super('Current version changed concurrently');
  }
}

class TransactionConflictError extends Error {}

/** Contention retries for writes without If-Match; each retry starts from the state DynamoDB returned. */
const MAX_WRITE_ATTEMPTS = 25;
/** Rounds of reading marked items again once their transaction is finished; one is the rule. */
const MAX_SETTLE_ROUNDS = 5;

/** An item as read, with what the transaction marking it (if any) had become when its record was read. */
interface Settled {
  readonly item: TableItem;
  /** `committed`: the staged version is visible though not yet finalized; `uncommitted`: pending or aborted, invisible. */
  readonly marker: 'none' | 'committed' | 'uncommitted';
}

/** What a CURRENT item shows. */
interface CurrentView {
  readonly version: ResourceVersion;
  /** The SK of the item holding this version's index keys: STAGED for a committed transaction's update not yet finalized. */
  readonly indexedBy: string;
}

export class ResourceRepository {
  private readonly log: TransactionLog;

  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    options: TransactionLogOptions = {},
  ) {
    this.log = new TransactionLog(client, tableName, options);
  }

  /** The current state of a resource (including a deletion), or undefined if it never existed. */
  async readCurrent(key: ResourceKey): Promise<ResourceVersion | undefined> {
    const item = await this.getItem(resourcePK(key.tenant, key.resourceType, key.id), CURRENT_SK);
    return item && (await this.currentViews(key.tenant, [item])).get(item.PK)?.version;
  }

  async readVersion(key: ResourceKey, version: number): Promise<ResourceVersion | undefined> {
    const item = await this.getItem(resourcePK(key.tenant, key.resourceType, key.id), versionSK(version));
    return item && (await this.visibleVersions(key.tenant, [item]))[0];
  }

  private async getItem(PK: string, SK: string): Promise<TableItem | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { PK, SK }, ConsistentRead: true }));
    return Item as TableItem | undefined;
  }

  /**
   * Writes the next version of a resource under optimistic concurrency.
   *
   * `plan` sees the current state and decides what to write (it may throw a FhirError). By
   * default the current state is read first. `presume` skips that read: `'absent'` for a new
   * server-assigned id, `'ifMatch'` to presume the current version is `ifMatch`: one request
   * when the presumption holds. Whenever the presumption or the read is stale, DynamoDB returns
   * the actual state and the write is planned again from it, so no update is ever lost.
   */
  async write(
    key: ResourceKey,
    options: { ifMatch?: number; presume?: 'absent' | 'ifMatch'; author?: string },
    plan: (current: ResourceVersion | undefined) => WritePlan,
  ): Promise<WriteResult> {
    let state: KnownState;
    if (options.presume === 'absent') {
      state = { kind: 'absent' };
    } else if (options.presume === 'ifMatch' && options.ifMatch !== undefined) {
      state = { kind: 'present', current: presumedVersion(key, options.ifMatch) };
    } else {
      state = await this.writeState(key);
    }

    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const current = state.kind === 'present' ? state.current : undefined;
      if (options.ifMatch !== undefined && current && current.version !== options.ifMatch) {
        throw FhirError.preconditionFailed(`Version conflict: If-Match expects version ${options.ifMatch}, current version is ${current.version}`);
      }
      const decision = plan(current);
      if (decision.kind === 'unchanged') {
        return { version: decision.result, previous: current, written: false };
      }
      try {
        const planned = planVersion(key, state, decision.method, decision.resource, options.author);
        try {
          await this.client.send(new TransactWriteCommand({ TransactItems: directWriteItems(this.tableName, planned) }));
        } catch (error) {
          throw classifyCancellation(error);
        }
        return { version: planned.version, previous: current, written: true };
      } catch (error) {
        if (error instanceof StaleStateError) {
          state = error.actual;
        } else if (error instanceof TransactionConflictError) {
          await backoff(attempt);
          state = await this.writeState(key);
        } else {
          throw error;
        }
      }
    }
    throw FhirError.conflict(`Too many concurrent writes to ${key.resourceType}/${key.id}; retry the request`);
  }

  /** Instance history, newest first. `since` (ISO instant) drops older versions. */
  async instanceHistory(key: ResourceKey, options: { count: number; cursor?: string; since?: string }): Promise<Page<ResourceVersion>> {
    const pk = resourcePK(key.tenant, key.resourceType, key.id);
    const start = options.cursor ? decodeCursor<{ v: number }>(options.cursor, { v: 'number' }) : undefined;
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': VERSION_SK_PREFIX },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: options.count,
        ExclusiveStartKey: start ? { PK: pk, SK: versionSK(start.v) } : undefined,
      }),
    );
    const versions = await this.visibleVersions(key.tenant, Items as TableItem[]);
    // lastUpdated strictly increases with the version, so the first older version ends the history.
    const kept = options.since ? versions.filter((v) => v.lastUpdated >= options.since!) : versions;
    const reachedSince = kept.length < versions.length;
    // The page may end on a staged version nobody sees yet: the cursor is the last item read.
    const last = Items.at(-1);
    return { items: kept, next: LastEvaluatedKey && last && !reachedSince ? encodeCursor({ v: versionFromSK(String(last.SK)) }) : undefined };
  }

  /** Type history: every version of every resource of a type, newest first. */
  async typeHistory(tenant: TenantId, resourceType: string, options: { count: number; cursor?: string; since?: string }): Promise<Page<ResourceVersion>> {
    const partition = gsi3HistoryPartition(tenant, resourceType);
    const start = options.cursor ? decodeCursor<{ s: string; id: string; v: number }>(options.cursor, { s: 'string', id: 'string', v: 'number' }) : undefined;
    const keys = await this.queryIndexKeys('GSI3', partition, options.count, options.since, start && {
      GSI3PK: partition,
      GSI3SK: start.s,
      PK: resourcePK(tenant, resourceType, start.id),
      SK: versionSK(start.v),
    });
    const items = await this.visibleVersions(tenant, await batchGetItems(this.client, this.tableName, keys.keys));
    const lastKey = keys.keys.at(-1);
    return {
      items,
      next: keys.more && lastKey ? encodeCursor({ s: String(lastKey.GSI3SK), id: idFromPK(String(lastKey.PK)), v: versionFromSK(String(lastKey.SK)) }) : undefined,
    };
  }

  /**
   * Live resources of a type, most recently updated first. `recent` (recent-changes.ts) overrides
   * what the lagging GSI says of the resources written recently: they are left out of its page
   * and placed by their current lastUpdated instead.
   */
  async listByLastUpdated(tenant: TenantId, resourceType: string, options: { count: number; cursor?: string; recent?: RecentSet }): Promise<Page<ResourceVersion>> {
    const partition = gsi3TypePartition(tenant, resourceType);
    const start = options.cursor ? decodeCursor<{ s: string; id: string }>(options.cursor, { s: 'string', id: 'string' }) : undefined;
    const recent = options.recent ?? { refs: new Set<string>(), current: [] };
    // Enough index keys that a full page remains once the recent ones are left out.
    const keys = await this.queryIndexKeys('GSI3', partition, options.count + recent.refs.size, undefined, start && {
      GSI3PK: partition,
      GSI3SK: start.s,
      PK: resourcePK(tenant, resourceType, start.id),
      SK: CURRENT_SK,
    });
    const indexed = keys.keys.filter((key) => !recent.refs.has(`${resourceType}/${idFromPK(String(key.PK))}`));
    const resources = [...new Set(indexed.map((key) => String(key.PK)))];
    const views = await this.currentViews(tenant, await batchGetItems(this.client, this.tableName, resources.map((PK) => ({ PK, SK: CURRENT_SK }))));
    // The index is eventually consistent; the base-table read is not: drop anything deleted since.
    // A resource in an open transaction is listed once, at the position of the version it shows.
    const fromIndex = indexed.flatMap((key) => {
      const view = views.get(String(key.PK));
      return view && !view.version.deleted && view.indexedBy === key.SK ? [view.version] : [];
    });
    const position = (version: ResourceVersion) => `${version.lastUpdated}#${version.id}`;
    const fromRecent = recent.current.filter((version) => !start || position(version) < start.s);
    const ordered = [...fromIndex, ...fromRecent].sort((a, b) => (position(a) < position(b) ? 1 : position(a) > position(b) ? -1 : 0));
    const items = ordered.slice(0, options.count);
    const last = items.at(-1);
    return { items, next: (keys.more || ordered.length > items.length) && last ? encodeCursor({ s: position(last), id: last.id }) : undefined };
  }

  /** The current versions of the given resources, in the given order; unknown and deleted ones are left out. */
  async readCurrentMany(tenant: TenantId, references: readonly { resourceType: string; id: string }[]): Promise<ResourceVersion[]> {
    const resources = [...new Set(references.map((reference) => resourcePK(tenant, reference.resourceType, reference.id)))];
    const views = await this.currentViews(tenant, await batchGetItems(this.client, this.tableName, resources.map((PK) => ({ PK, SK: CURRENT_SK }))));
    return resources.flatMap((PK) => {
      const version = views.get(PK)?.version;
      return version && !version.deleted ? [version] : [];
    });
  }

  /** The state a later `commitAtomically` is planned against: read strongly consistently. */
  async readWriteState(key: ResourceKey): Promise<WriteState> {
    return this.writeState(key);
  }

  /**
   * Writes several resources (of one tenant, each once) all or nothing, each conditioned on the
   * state it was planned against. A stale state anywhere cancels everything: 409 naming the
   * resource. Up to DynamoDB's 100 items this is one TransactWriteItems; beyond, the commit
   * protocol of transaction-log.ts.
   */
  async commitAtomically(writes: readonly PlannedWrite[]): Promise<ResourceVersion[]> {
    const planned = writes.map((write) => planVersion(write.key, write.state, write.method, write.resource, write.author));
    if (planned.length > 0) {
      await this.log.commit(writes[0].key.tenant, planned);
    }
    return planned.map((p) => p.version);
  }

  /**
   * Finishes the tenant's transactions abandoned past their deadline (rolled back unless
   * committed, finalized if committed); returns how many. Readers and writers do the same for
   * the transactions they meet; this is for the stream processor or a scheduled sweep.
   */
  async recoverTransactions(tenant: TenantId): Promise<number> {
    return this.log.recoverAbandoned(tenant);
  }

  /**
   * The state a write is planned against. A transaction marking the resource is finished first
   * when it is decided or abandoned; one still in progress makes the write fail.
   */
  private async writeState(key: ResourceKey): Promise<KnownState> {
    const item = await this.getItem(resourcePK(key.tenant, key.resourceType, key.id), CURRENT_SK);
    const [settled] = item ? await this.settle(key.tenant, [item], 'write') : [];
    if (settled?.marker === 'uncommitted') {
      throw FhirError.conflict(`${key.resourceType}/${key.id} is being written by a transaction in progress; retry`);
    }
    return settled && !isPlaceholder(settled.item) ? stateOf(settled.item) : { kind: 'absent' };
  }

  /**
   * Resolves the transaction markers on items just read. Each marker's record is read after the
   * items, so all the items of one transaction are judged by one status at least as recent as
   * any of them: a reader never sees part of a transaction. Items whose transaction is gone (it
   * ended meanwhile) or must be finished first (`mustFinish`) are read again once it has ended.
   * An item still marked when read again after its record was found gone is an orphan: a
   * transaction's unfenced staging of a fresh resource that landed after it was rolled back
   * (transaction-log.ts). Finishing removes every marker before the record, so it is
   * uncommitted; a writer removes it.
   */
  private async settle(tenant: TenantId, items: readonly TableItem[], intent: 'read' | 'write'): Promise<Settled[]> {
    const settled: Settled[] = [];
    let unsettled = items;
    // Items (with their marker) whose transaction's record was gone when last read.
    let gone = new Set<string>();
    for (let round = 1; unsettled.length > 0; round++) {
      if (round > MAX_SETTLE_ROUNDS) {
        throw new Error(`Transaction markers on ${unsettled.length} items did not settle`);
      }
      const txIds = [...new Set(unsettled.flatMap((item) => (item.pendingTx === undefined ? [] : [item.pendingTx])))];
      const records = new Map(await Promise.all(txIds.map(async (txId) => [txId, await this.log.record(tenant, txId)] as const)));
      const finishing = new Set(
        txIds.filter((txId) => {
          const record = records.get(txId);
          return record !== undefined && this.log.mustFinish(record, intent);
        }),
      );
      await Promise.all([...finishing].map((txId) => this.log.recover(tenant, txId)));
      const again: TableItem[] = [];
      const orphans: TableItem[] = [];
      const goneNow = new Set<string>();
      for (const item of unsettled) {
        const record = item.pendingTx === undefined ? undefined : records.get(item.pendingTx);
        const marked = `${itemKey(item)}|${item.pendingTx}`;
        if (item.pendingTx === undefined) {
          settled.push({ item, marker: 'none' });
        } else if (!record && gone.has(marked) && intent === 'write') {
          orphans.push(item);
        } else if (!record && gone.has(marked)) {
          settled.push({ item, marker: 'uncommitted' });
        } else if (!record || finishing.has(item.pendingTx)) {
          if (!record) {
            goneNow.add(marked);
          }
          again.push(item);
        } else {
          settled.push({ item, marker: record.status === 'COMMITTED' ? 'committed' : 'uncommitted' });
        }
      }
      await Promise.all(
        [...new Set(orphans.map((item) => item.pendingTx as string))].map((txId) =>
          this.log.rollBackResources(txId, orphans.filter((item) => item.pendingTx === txId).map((item) => parseResourcePK(item.PK) as ResourceKey)),
        ),
      );
      gone = goneNow;
      unsettled = await batchGetItems(this.client, this.tableName, [...again, ...orphans]);
    }
    return settled;
  }

  /** What these CURRENT items show, by PK; a placeholder of an uncommitted transaction shows nothing. */
  private async currentViews(tenant: TenantId, items: readonly TableItem[]): Promise<Map<string, CurrentView>> {
    const settled = await this.settle(tenant, items, 'read');
    const committed = new Map(settled.filter((entry) => entry.marker === 'committed').map((entry) => [entry.item.PK, entry.item]));
    const staged = await batchGetItems(this.client, this.tableName, [...committed.values()].map((item) => ({ PK: item.PK, SK: versionSK(pendingVersion(item)) })));
    const views = new Map<string, CurrentView>();
    for (const { item, marker } of settled) {
      if (marker !== 'committed' && !isPlaceholder(item)) {
        views.set(item.PK, { version: toVersion(item), indexedBy: CURRENT_SK });
      }
    }
    for (const item of staged) {
      views.set(item.PK, { version: toVersion(item as StoredItem), indexedBy: isPlaceholder(committed.get(item.PK) as TableItem) ? CURRENT_SK : STAGED_SK });
    }
    return views;
  }

  /** The versions among these VERSION items that readers see, in their order: a staged one once its transaction committed. */
  private async visibleVersions(tenant: TenantId, items: readonly TableItem[]): Promise<ResourceVersion[]> {
    const settled = await this.settle(tenant, items, 'read');
    const visible = new Map(settled.filter((entry) => entry.marker !== 'uncommitted').map((entry) => [itemKey(entry.item), entry.item as StoredItem]));
    return items.flatMap((item) => {
      const version = visible.get(itemKey(item));
      return version ? [toVersion(version)] : [];
    });
  }

  private async queryIndexKeys(
    indexName: 'GSI3',
    partition: string,
    count: number,
    since: string | undefined,
    exclusiveStartKey: Record<string, string> | undefined,
  ): Promise<{ keys: Record<string, unknown>[]; more: boolean }> {
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: since ? 'GSI3PK = :pk AND GSI3SK >= :since' : 'GSI3PK = :pk',
        ExpressionAttributeValues: { ':pk': partition, ...(since ? { ':since': since } : {}) },
        ScanIndexForward: false,
        Limit: count,
        ExclusiveStartKey: exclusiveStartKey,
      }),
    );
    return { keys: Items, more: LastEvaluatedKey !== undefined };
  }
}

function presumedVersion(key: ResourceKey, version: number): ResourceVersion {
  return { resourceType: key.resourceType, id: key.id, version, lastUpdated: '', deleted: false, method: 'PUT' };
}

function idFromPK(pk: string): string {
  return pk.slice(pk.lastIndexOf('#') + 1);
}

function classifyCancellation(error: unknown): Error {
  if (!(error instanceof TransactionCanceledException)) {
    return error as Error;
  }
  const [currentReason, versionReason] = error.CancellationReasons ?? [];
  if (currentReason?.Code === 'ConditionalCheckFailed') {
    const item = currentReason.Item ? (unmarshall(currentReason.Item as Record<string, AttributeValue>) as TableItem) : undefined;
    if (item && (isPlaceholder(item) || item.pendingTx !== undefined)) {
      // A large transaction holds the resource: settle it through its record, then plan again.
      return new TransactionConflictError('Resource is in an open transaction');
    }
    return new StaleStateError(stateOf(item));
  }
  if (versionReason?.Code === 'ConditionalCheckFailed' || (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict')) {
    return new TransactionConflictError('Concurrent transaction on the same resource');
  }
  return error;
}
