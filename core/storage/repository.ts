/**
 * Versioned resource storage on the single table.
 *
 * Each write is one `TransactWriteItems` of two puts:
 *   - the CURRENT item, conditioned on the exact state the write was planned against
 *     (absent, or version n with its deleted flag): optimistic locking, no lost updates;
 *   - the new VERSION#n+1 item, conditioned on not existing: history has no gaps and no
 *     version is ever overwritten.
 * A failed condition returns the item's actual state (ReturnValuesOnConditionCheckFailure), so
 * a retry needs no extra read. Reads of the current version are one strongly consistent GetItem.
 */
import { TransactionCanceledException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { TenantId } from '../tenant.js';
import { decodeBody, encodeBody } from './body-codec.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { currentIndexKeys, lookupItems } from './index-keys.js';
import { CURRENT_SK, MULTI_PATIENT, gsi1LookupOverflow, gsi1LookupOverflowPartition, gsi1LookupPartition, VERSION_SK_PREFIX, gsi2PatientPartition, gsi3HistoryPartition, gsi3TypeHistory, gsi3TypePartition, resourcePK, versionSK } from './keys.js';

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One stored version of a resource; `resource` is absent for a deletion. */
export interface ResourceVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly version: number;
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly method: WriteMethod;
  readonly resource?: Resource;
}

export interface ResourceKey {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
}

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

export interface Page<T> {
  readonly items: T[];
  /** Opaque cursor of the next page; absent on the last page. */
  readonly next?: string;
}

interface StoredItem {
  PK: string;
  SK: string;
  resourceType: string;
  id: string;
  version: number;
  lastUpdated: string;
  deleted: boolean;
  method: WriteMethod;
  body?: Uint8Array;
  /** CURRENT items: the SKs of the resource's lookup items, so the next write can remove stale ones. */
  lookups?: string[];
}

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** DynamoDB's TransactWriteItems limit. */
const MAX_TRANSACTION_ITEMS = 100;

/** The state a write is conditioned on: read, returned by a failed condition, or presumed from If-Match. */
type KnownState =
  | { readonly kind: 'absent' }
  /** `lookups` is undefined when the state is presumed from If-Match rather than read. */
  | { readonly kind: 'present'; readonly current: ResourceVersion; readonly lookups?: readonly string[] };

/** The state `readWriteState` returns; opaque to callers except for `current`. */
export type WriteState = KnownState;

/** One resource's part of an atomic multi-resource commit. */
export interface PlannedWrite {
  readonly key: ResourceKey;
  /** From `readWriteState`: the write fails (409) if the resource changed since. */
  readonly state: WriteState;
  readonly method: WriteMethod;
  /** The new content; undefined writes a deletion. */
  readonly resource?: Resource;
}

class StaleStateError extends Error {
  constructor(readonly actual: KnownState) {
    super('Current version changed concurrently');
  }
}

class TransactionConflictError extends Error {}

/** Contention retries for writes without If-Match; each retry starts from the state DynamoDB returned. */
const MAX_WRITE_ATTEMPTS = 25;
const BATCH_GET_LIMIT = 100;
/** BatchGetItem requests in flight at once when reading many items. */
const BATCH_GET_PARALLEL = 8;

export class ResourceRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The current state of a resource (including a deletion), or undefined if it never existed. */
  async readCurrent(key: ResourceKey): Promise<ResourceVersion | undefined> {
    const item = await this.currentItem(key);
    return item ? toVersion(item) : undefined;
  }

  private async currentItem(key: ResourceKey): Promise<StoredItem | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { PK: resourcePK(key.tenant, key.resourceType, key.id), SK: CURRENT_SK }, ConsistentRead: true }),
    );
    return Item as StoredItem | undefined;
  }

  async readVersion(key: ResourceKey, version: number): Promise<ResourceVersion | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { PK: resourcePK(key.tenant, key.resourceType, key.id), SK: versionSK(version) }, ConsistentRead: true }),
    );
    return Item ? toVersion(Item as StoredItem) : undefined;
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
    options: { ifMatch?: number; presume?: 'absent' | 'ifMatch' },
    plan: (current: ResourceVersion | undefined) => WritePlan,
  ): Promise<WriteResult> {
    let state: KnownState;
    if (options.presume === 'absent') {
      state = { kind: 'absent' };
    } else if (options.presume === 'ifMatch' && options.ifMatch !== undefined) {
      state = { kind: 'present', current: presumedVersion(key, options.ifMatch) };
    } else {
      state = await this.knownState(key);
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
        const version = await this.commit(key, state, decision);
        return { version, previous: current, written: true };
      } catch (error) {
        if (error instanceof StaleStateError) {
          state = error.actual;
        } else if (error instanceof TransactionConflictError) {
          await backoff(attempt);
          state = await this.knownState(key);
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
    const versions = Items.map((item) => toVersion(item as StoredItem));
    // lastUpdated strictly increases with the version, so the first older version ends the history.
    const kept = options.since ? versions.filter((v) => v.lastUpdated >= options.since!) : versions;
    const reachedSince = kept.length < versions.length;
    const last = kept.at(-1);
    return { items: kept, next: LastEvaluatedKey && last && !reachedSince ? encodeCursor({ v: last.version }) : undefined };
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
    const items = await this.batchGet(keys.keys);
    const last = items.at(-1);
    return {
      items,
      next: keys.more && last ? encodeCursor({ s: gsi3TypeHistory(tenant, resourceType, last.lastUpdated, last.id, last.version).GSI3SK, id: last.id, v: last.version }) : undefined,
    };
  }

  /** Live resources of a type, most recently updated first. */
  async listByLastUpdated(tenant: TenantId, resourceType: string, options: { count: number; cursor?: string }): Promise<Page<ResourceVersion>> {
    const partition = gsi3TypePartition(tenant, resourceType);
    const start = options.cursor ? decodeCursor<{ s: string; id: string }>(options.cursor, { s: 'string', id: 'string' }) : undefined;
    const keys = await this.queryIndexKeys('GSI3', partition, options.count, undefined, start && {
      GSI3PK: partition,
      GSI3SK: start.s,
      PK: resourcePK(tenant, resourceType, start.id),
      SK: CURRENT_SK,
    });
    const fetched = await this.batchGet(keys.keys);
    // The index is eventually consistent; the base-table read is not. Drop anything deleted since.
    const items = fetched.filter((version) => !version.deleted);
    const lastKey = keys.keys.at(-1);
    return { items, next: keys.more && lastKey ? encodeCursor({ s: String(lastKey.GSI3SK), id: idFromPK(String(lastKey.PK)) }) : undefined };
  }

  /** Every live resource of a type (GSI3); none, and `truncated`, when there are more than `limit`. */
  async scanType(tenant: TenantId, resourceType: string, limit: number): Promise<{ items: ResourceVersion[]; truncated: boolean }> {
    return this.scanIndex('GSI3', [{ partition: gsi3TypePartition(tenant, resourceType) }], limit);
  }

  /** Live resources of a type in these patients' compartments (GSI2), including the multi-patient partition. */
  async scanCompartments(tenant: TenantId, patientIds: readonly string[], resourceType: string, limit: number): Promise<{ items: ResourceVersion[]; truncated: boolean }> {
    const partitions = [...new Set([...patientIds, MULTI_PATIENT])].map((patientId) => ({ partition: gsi2PatientPartition(tenant, patientId, resourceType) }));
    return this.scanIndex('GSI2', partitions, limit);
  }

  /**
   * Live resources of a type having one of these token values for a lookup parameter (GSI1);
   * `system` undefined: any system, '': none. The type's overflow partition is read as well.
   */
  async scanLookups(
    tenant: TenantId,
    resourceType: string,
    param: string,
    values: readonly { system?: string; code: string }[],
    limit: number,
  ): Promise<{ items: ResourceVersion[]; truncated: boolean }> {
    const queries = values.map(({ system, code }) => ({
      partition: gsi1LookupPartition(tenant, resourceType, param, code),
      sortKeyPrefix: system === undefined ? undefined : `${system}#`,
    }));
    return this.scanIndex('GSI1', [...queries, { partition: gsi1LookupOverflowPartition(tenant, resourceType) }], limit);
  }

  /**
   * The CURRENT items behind the keys of index partitions (optionally narrowed to a sort key
   * prefix), read strongly consistently; none, and `truncated`, past `limit` distinct resources.
   */
  private async scanIndex(
    indexName: 'GSI1' | 'GSI2' | 'GSI3',
    queries: readonly { partition: string; sortKeyPrefix?: string }[],
    limit: number,
  ): Promise<{ items: ResourceVersion[]; truncated: boolean }> {
    const resources = new Set<string>();
    for (const { partition, sortKeyPrefix } of queries) {
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: indexName,
            KeyConditionExpression: sortKeyPrefix === undefined ? `${indexName}PK = :pk` : `${indexName}PK = :pk AND begins_with(${indexName}SK, :prefix)`,
            ExpressionAttributeValues: { ':pk': partition, ...(sortKeyPrefix === undefined ? {} : { ':prefix': sortKeyPrefix }) },
            ScanIndexForward: false,
            Limit: limit + 1 - resources.size,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) {
          resources.add(String(item.PK));
        }
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey && resources.size <= limit);
      if (resources.size > limit) {
        break;
      }
    }
    if (resources.size > limit) {
      // The caller refuses the query: reading the bodies would only make the refusal expensive.
      return { items: [], truncated: true };
    }
    const items = await this.batchGet([...resources].map((PK) => ({ PK, SK: CURRENT_SK })));
    return { items: items.filter((version) => !version.deleted), truncated: false };
  }

  /** The current versions of the given resources, in the given order; unknown and deleted ones are left out. */
  async readCurrentMany(tenant: TenantId, references: readonly { resourceType: string; id: string }[]): Promise<ResourceVersion[]> {
    const keys = references.map((reference) => ({ PK: resourcePK(tenant, reference.resourceType, reference.id), SK: CURRENT_SK }));
    const unique = [...new Map(keys.map((key) => [key.PK, key])).values()];
    return (await this.batchGet(unique)).filter((version) => !version.deleted);
  }

  private async knownState(key: ResourceKey): Promise<KnownState> {
    return stateOf(await this.currentItem(key));
  }

  private async commit(key: ResourceKey, state: KnownState, plan: Extract<WritePlan, { kind: 'write' }>): Promise<ResourceVersion> {
    const { items, version } = writeItems(this.tableName, key, state, plan);
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      throw classifyCancellation(error);
    }
    return version;
  }

  /** The state a later `commitAtomically` is planned against: read strongly consistently. */
  async readWriteState(key: ResourceKey): Promise<WriteState> {
    return this.knownState(key);
  }

  /**
   * Writes several resources all or nothing, each conditioned on the state it was planned
   * against. A stale state anywhere cancels everything: 409 naming the resource. Up to
   * DynamoDB's 100 items this is one TransactWriteItems.
   */
  async commitAtomically(writes: readonly PlannedWrite[]): Promise<ResourceVersion[]> {
    const built = writes.map((write) => ({ write, ...writeItems(this.tableName, write.key, write.state, { kind: 'write', method: write.method, resource: write.resource }) }));
    const items = built.flatMap((entry) => entry.items);
    if (items.length > MAX_TRANSACTION_ITEMS) {
      throw FhirError.payloadTooLarge(
        `This transaction needs ${items.length} DynamoDB items (a version, its current item and its lookup items per resource); the limit is ${MAX_TRANSACTION_ITEMS}`,
      );
    }
    if (items.length === 0) {
      return [];
    }
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) {
        throw error;
      }
      const reasons = error.CancellationReasons ?? [];
      let offset = 0;
      for (const entry of built) {
        if (reasons.slice(offset, offset + entry.items.length).some((reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict')) {
          throw FhirError.conflict(`${entry.write.key.resourceType}/${entry.write.key.id} changed while the transaction was processed; nothing was written`);
        }
        offset += entry.items.length;
      }
      throw error;
    }
    return built.map((entry) => entry.version);
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

  /** Strongly consistent bodies for index keys, in the order of the keys; chunks are read in parallel. */
  private async batchGet(keys: Record<string, unknown>[]): Promise<ResourceVersion[]> {
    const chunks: Record<string, unknown>[][] = [];
    for (let offset = 0; offset < keys.length; offset += BATCH_GET_LIMIT) {
      chunks.push(keys.slice(offset, offset + BATCH_GET_LIMIT).map((k) => ({ PK: k.PK, SK: k.SK })));
    }
    const found = new Map<string, StoredItem>();
    for (let start = 0; start < chunks.length; start += BATCH_GET_PARALLEL) {
      const results = await Promise.all(chunks.slice(start, start + BATCH_GET_PARALLEL).map((chunk) => this.batchGetChunk(chunk)));
      for (const item of results.flat()) {
        found.set(`${item.PK}|${item.SK}`, item);
      }
    }
    return keys.flatMap((k) => {
      const item = found.get(`${k.PK}|${k.SK}`);
      return item ? [toVersion(item)] : [];
    });
  }

  /** One BatchGetItem of at most 100 keys, retrying what DynamoDB leaves unprocessed. */
  private async batchGetChunk(keys: Record<string, unknown>[]): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    let pending = keys;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...((Responses?.[this.tableName] ?? []) as StoredItem[]));
      pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      if (pending.length > 0) {
        await backoff(attempt);
      }
    }
    return items;
  }
}

/**
 * The items of one versioned write: the CURRENT item conditioned on `state`, the new VERSION
 * item conditioned on not existing, and the lookup items put and removed.
 */
function writeItems(tableName: string, key: ResourceKey, state: KnownState, plan: Extract<WritePlan, { kind: 'write' }>): { items: TransactItem[]; version: ResourceVersion } {
  const current = state.kind === 'present' ? state.current : undefined;
  const version = (current?.version ?? 0) + 1;
  const lastUpdated = nextTimestamp(current?.lastUpdated);
  const resource = plan.resource && withServerMeta(plan.resource, version, lastUpdated);
  const lookups = resource ? lookupItems(key.tenant, resource) : { items: [], overflow: false };
  const stored: StoredItem = {
    PK: resourcePK(key.tenant, key.resourceType, key.id),
    SK: CURRENT_SK,
    resourceType: key.resourceType,
    id: key.id,
    version,
    lastUpdated,
    deleted: !resource,
    method: plan.method,
    body: resource && encodeBody(resource),
  };
  const condition =
    state.kind === 'absent'
      ? { ConditionExpression: 'attribute_not_exists(PK)' }
      : {
          ConditionExpression: '#version = :version AND #deleted = :deleted',
          ExpressionAttributeNames: { '#version': 'version', '#deleted': 'deleted' },
          ExpressionAttributeValues: { ':version': state.current.version, ':deleted': state.current.deleted },
        };
  const currentItem = {
    ...stored,
    lookups: lookups.items.map((item) => item.SK),
    ...(resource ? currentIndexKeys(key.tenant, resource, lastUpdated) : {}),
    ...(lookups.overflow ? gsi1LookupOverflow(key.tenant, key.resourceType, key.id) : {}),
  };
  // Lookup items of the replaced version that this one lacks. A write presumed from If-Match
  // does not know them: the stale ones it leaves only add candidates that matching discards.
  const kept = new Set(currentItem.lookups);
  const stale = state.kind === 'present' ? (state.lookups ?? []).filter((sk) => !kept.has(sk)) : [];
  const items: TransactItem[] = [
    { Put: { TableName: tableName, Item: currentItem, ...condition, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
    {
      Put: {
        TableName: tableName,
        Item: { ...stored, SK: versionSK(version), ...gsi3TypeHistory(key.tenant, key.resourceType, lastUpdated, key.id, version) },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    ...lookups.items.map((item) => ({ Put: { TableName: tableName, Item: { PK: stored.PK, ...item } } })),
    ...stale.map((sk) => ({ Delete: { TableName: tableName, Key: { PK: stored.PK, SK: sk } } })),
  ];
  return { items, version: toVersion(stored, resource) };
}

function toVersion(item: StoredItem, decoded?: Resource): ResourceVersion {
  return {
    resourceType: item.resourceType,
    id: item.id,
    version: Number(item.version),
    lastUpdated: item.lastUpdated,
    deleted: item.deleted,
    method: item.method,
    resource: decoded ?? (item.body ? decodeBody(item.body) : undefined),
  };
}

function stateOf(item: StoredItem | undefined): KnownState {
  return item ? { kind: 'present', current: toVersion(item), lookups: item.lookups ?? [] } : { kind: 'absent' };
}

function presumedVersion(key: ResourceKey, version: number): ResourceVersion {
  return { resourceType: key.resourceType, id: key.id, version, lastUpdated: '', deleted: false, method: 'PUT' };
}

function withServerMeta(resource: Resource, version: number, lastUpdated: string): Resource {
  return { ...resource, meta: { ...resource.meta, versionId: String(version), lastUpdated } };
}

/** Now, but strictly after the previous version, so history order and lastUpdated agree even with clock skew. */
function nextTimestamp(previous: string | undefined): string {
  const now = Date.now();
  const floor = previous ? Date.parse(previous) + 1 : 0;
  return new Date(Math.max(now, floor)).toISOString();
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
    const item = currentReason.Item ? (unmarshall(currentReason.Item as Record<string, AttributeValue>) as StoredItem) : undefined;
    return new StaleStateError(stateOf(item));
  }
  if (versionReason?.Code === 'ConditionalCheckFailed' || (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict')) {
    return new TransactionConflictError('Concurrent transaction on the same resource');
  }
  return error;
}

async function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(200, 5 * 2 ** attempt);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
