/**
 * The items one resource version is stored as, and the writes that put them in place: directly
 * (one TransactWriteItems), or in the three steps of a large transaction (transaction-log.ts):
 * staged, then finalized or rolled back.
 *
 *   CURRENT    the current version: body, index keys (GSI3 type, GSI2 compartment, GSI1
 *              overflow) and the SKs of its lookup items. While a large transaction stages a new
 *              version of the resource, `pendingTx` marks it; a resource the transaction creates
 *              gets a placeholder CURRENT that holds only the marker. A create under a fresh
 *              server-assigned id (`isFresh`) is staged with the same items, without the fence
 *              (transaction-log.ts argues why that is safe).
 *   VERSION#n  one immutable item per version, with the type-history GSI3 keys. A staged
 *              version carries `pendingTx` until it is finalized.
 *   STAGED     only while a transaction is open on an existing resource: the index keys its
 *              staged version will have on CURRENT, so an index query finds the resource by its
 *              new values as well as by its old ones; readers decide which version it shows. A
 *              created resource's placeholder carries those keys itself.
 *   LOOKUP#…   one per token value (GSI1). Staging adds the new version's; finalizing removes
 *              the old version's stale ones; rolling back removes what staging added.
 *   recent     the resource's recent-change item (recent-changes.ts), in the same transaction as
 *              the version, so no search misses a write the GSIs or the index have not caught up
 *              with. Staging puts it (readers settle what it points at); rolling back leaves it to
 *              expire, since it only makes searches re-read the resource.
 */
import { type DynamoDBDocumentClient, BatchGetCommand, type TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Resource } from '@medplum/fhirtypes';
import type { TenantId } from '../tenant.js';
import { decodeBody, encodeBody } from './body-codec.js';
import { currentIndexKeys, lookupItems, type LookupItem } from './index-keys.js';
import { CURRENT_SK, STAGED_SK, gsi1LookupOverflow, gsi3TypeHistory, recentChangeKey, resourcePK, versionSK } from './keys.js';

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
  /** Who wrote it (the authenticated principal), for audit; absent on versions written before it was recorded. */
  readonly author?: string;
}

export interface ResourceKey {
  readonly tenant: TenantId;
  readonly resourceType: string;
  readonly id: string;
}

/** The state a write is conditioned on: read, returned by a failed condition, or presumed from If-Match. */
export type KnownState =
  /**
   * `fresh`: the id is a new random UUID the server just made (a POST), so nothing else can write
   * the resource until the write is answered: a large transaction stages it without a fence.
   */
  | { readonly kind: 'absent'; readonly fresh?: boolean }
  /** `lookups` is undefined when the state is presumed from If-Match rather than read. */
  | { readonly kind: 'present'; readonly current: ResourceVersion; readonly lookups?: readonly string[] };

/** A CURRENT or VERSION item. */
export interface StoredItem {
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
  /** The open transaction staging the next version (on CURRENT), or this one (on VERSION). */
  pendingTx?: string;
  author?: string;
}

/** The CURRENT item of a resource that an open transaction creates: its keys and the marker only. */
export interface Placeholder {
  PK: string;
  SK: string;
  pendingTx: string;
}

export type TableItem = StoredItem | Placeholder;

export function isPlaceholder(item: TableItem): item is Placeholder {
  return !('version' in item);
}

export type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** A version planned against a known state: everything its items will hold. */
export interface PlannedVersion {
  readonly key: ResourceKey;
  readonly state: KnownState;
  /** The fields CURRENT and VERSION share (SK is CURRENT's). */
  readonly stored: StoredItem;
  readonly resource?: Resource;
  readonly lookups: { readonly items: LookupItem[]; readonly overflow: boolean };
  readonly version: ResourceVersion;
}

/** The next version of `key` after `state`: version number, lastUpdated and meta are the server's. */
export function planVersion(key: ResourceKey, state: KnownState, method: WriteMethod, content: Resource | undefined, author: string | undefined): PlannedVersion {
  const current = state.kind === 'present' ? state.current : undefined;
  const version = (current?.version ?? 0) + 1;
  const lastUpdated = nextTimestamp(current?.lastUpdated);
  const resource = content && withServerMeta(content, version, lastUpdated);
  const stored: StoredItem = {
    PK: resourcePK(key.tenant, key.resourceType, key.id),
    SK: CURRENT_SK,
    resourceType: key.resourceType,
    id: key.id,
    version,
    lastUpdated,
    deleted: !resource,
    method,
    body: resource && encodeBody(resource),
    ...(author === undefined ? {} : { author }),
  };
  return planned(key, state, stored, resource);
}

/** The version a transaction staged, planned again from its items by whoever finalizes it. */
export function stagedVersion(key: ResourceKey, current: TableItem, staged: StoredItem): PlannedVersion {
  const stored: StoredItem = {
    PK: staged.PK,
    SK: CURRENT_SK,
    resourceType: staged.resourceType,
    id: staged.id,
    version: Number(staged.version),
    lastUpdated: staged.lastUpdated,
    deleted: staged.deleted,
    method: staged.method,
    body: staged.body,
    ...(staged.author === undefined ? {} : { author: staged.author }),
  };
  return planned(key, isPlaceholder(current) ? { kind: 'absent' } : stateOf(current), stored, staged.body && decodeBody(staged.body));
}

function planned(key: ResourceKey, state: KnownState, stored: StoredItem, resource: Resource | undefined): PlannedVersion {
  return {
    key,
    state,
    stored,
    resource,
    lookups: resource ? lookupItems(key.tenant, resource) : { items: [], overflow: false },
    version: toVersion(stored, resource),
  };
}

/** The version number a marked CURRENT item's transaction stages: the one after the state it marked. */
export function pendingVersion(current: TableItem): number {
  return isPlaceholder(current) ? 1 : Number(current.version) + 1;
}

/**
 * A direct write: the CURRENT item conditioned on `state` (and on no open transaction), the new
 * VERSION item conditioned on not existing, the lookup items put and the stale ones removed.
 */
export function directWriteItems(tableName: string, planned: PlannedVersion): TransactItem[] {
  const { PK } = planned.stored;
  return [
    { Put: { TableName: tableName, Item: currentItem(planned), ...stateCondition(planned.state), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
    { Put: { TableName: tableName, Item: versionItem(planned), ConditionExpression: 'attribute_not_exists(PK)' } },
    ...planned.lookups.items.map((item) => ({ Put: { TableName: tableName, Item: { PK, ...item } } })),
    ...staleLookups(planned).map((SK) => ({ Delete: { TableName: tableName, Key: { PK, SK } } })),
    { Put: { TableName: tableName, Item: recentChangeItem(planned.key, planned.stored.version) } },
  ];
}

/** A create under a fresh server-assigned id: nothing can contend for it, so its staging needs no fence and no order. */
export function isFresh(planned: PlannedVersion): boolean {
  return planned.state.kind === 'absent' && planned.state.fresh === true && planned.resource !== undefined;
}

/**
 * Staging: CURRENT is marked under the same condition a direct write has, the version is put
 * marked, its index keys go on the STAGED item (on the placeholder of a new resource) and its new
 * lookup items are put. Readers see none of it until the transaction commits.
 */
export function stagingItems(tableName: string, planned: PlannedVersion, txId: string): TransactItem[] {
  const { PK } = planned.stored;
  const staged = planned.resource ? indexKeys(planned, planned.resource) : {};
  const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = stateCondition(planned.state);
  const marker: TransactItem =
    planned.state.kind === 'absent'
      ? { Put: { TableName: tableName, Item: { PK, SK: CURRENT_SK, pendingTx: txId, ...staged }, ConditionExpression, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } }
      : {
          Update: {
            TableName: tableName,
            Key: { PK, SK: CURRENT_SK },
            UpdateExpression: 'SET pendingTx = :tx',
            ConditionExpression,
            ExpressionAttributeNames,
            ExpressionAttributeValues: { ...ExpressionAttributeValues, ':tx': txId },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        };
  const existing = new Set(planned.state.kind === 'present' ? (planned.state.lookups ?? []) : []);
  return [
    marker,
    { Put: { TableName: tableName, Item: { ...versionItem(planned), pendingTx: txId }, ConditionExpression: 'attribute_not_exists(PK)' } },
    ...(hasStagedItem(planned) ? [{ Put: { TableName: tableName, Item: { PK, SK: STAGED_SK, pendingTx: txId, ...staged } } }] : []),
    ...planned.lookups.items.filter((item) => !existing.has(item.SK)).map((item) => ({ Put: { TableName: tableName, Item: { PK, ...item } } })),
    { Put: { TableName: tableName, Item: recentChangeItem(planned.key, planned.stored.version) } },
  ];
}

/**
 * Finalizing a committed transaction's version: CURRENT becomes it, the markers and STAGED go,
 * stale lookups go, and the recent-change item is written again. Finalizing moves index keys
 * (STAGED's go, CURRENT's come) and the GSIs catch up from now, not from the staging, which may be
 * longer ago than the settle time: the item's `writtenAt` must restart here, or a search on the
 * GSIs could drop the item while they still miss the version. Unconditional, yet safe: the
 * whole TransactWriteItems lands only while CURRENT still carries this transaction's marker,
 * and no newer write (with an item of its own) can exist before the marker is gone.
 */
export function finalizingItems(tableName: string, planned: PlannedVersion, txId: string): TransactItem[] {
  const { PK } = planned.stored;
  const marked = { ConditionExpression: 'pendingTx = :tx', ExpressionAttributeValues: { ':tx': txId } };
  return [
    { Put: { TableName: tableName, Item: currentItem(planned), ...marked } },
    { Update: { TableName: tableName, Key: { PK, SK: versionSK(planned.stored.version) }, UpdateExpression: 'REMOVE pendingTx', ...marked } },
    ...(hasStagedItem(planned) ? [{ Delete: { TableName: tableName, Key: { PK, SK: STAGED_SK } } }] : []),
    ...staleLookups(planned).map((SK) => ({ Delete: { TableName: tableName, Key: { PK, SK } } })),
    { Put: { TableName: tableName, Item: recentChangeItem(planned.key, planned.stored.version) } },
  ];
}

/**
 * How long a recent-change item outlives its write at most, should the stream processor never
 * remove it (a rolled-back transaction, records lost after the stream's 24 h retention): DynamoDB's
 * TTL then deletes it. Until then it only makes searches re-read the resource.
 */
export const RECENT_CHANGE_TTL_SECONDS = 24 * 60 * 60;

/** The recent-change item of a write of `version`: what searches merge until the indexes have it. */
export function recentChangeItem(key: ResourceKey, version: number): Record<string, unknown> {
  const now = Date.now();
  return {
    ...recentChangeKey(key.tenant, key.resourceType, key.id),
    resourceType: key.resourceType,
    id: key.id,
    version,
    writtenAt: now,
    expiresAt: Math.floor(now / 1000) + RECENT_CHANGE_TTL_SECONDS,
  };
}

/** A version replacing an existing CURRENT stages its index keys on a STAGED item; a create, on its placeholder; a deletion has none. */
function hasStagedItem(planned: PlannedVersion): boolean {
  return planned.state.kind === 'present' && planned.resource !== undefined;
}

/** Rolling back what staging wrote for one resource: CURRENT unmarked (a placeholder deleted), the staged items deleted. */
export function rollbackItems(tableName: string, key: ResourceKey, current: TableItem, staged: StoredItem, txId: string): TransactItem[] {
  const { PK } = current;
  const marked = { ConditionExpression: 'pendingTx = :tx', ExpressionAttributeValues: { ':tx': txId } };
  const kept = new Set(isPlaceholder(current) ? [] : (current.lookups ?? []));
  const added = staged.body ? lookupItems(key.tenant, decodeBody(staged.body)).items.filter((item) => !kept.has(item.SK)) : [];
  return [
    isPlaceholder(current)
      ? { Delete: { TableName: tableName, Key: { PK, SK: CURRENT_SK }, ...marked } }
      : { Update: { TableName: tableName, Key: { PK, SK: CURRENT_SK }, UpdateExpression: 'REMOVE pendingTx', ...marked } },
    { Delete: { TableName: tableName, Key: { PK, SK: staged.SK }, ...marked } },
    ...(!isPlaceholder(current) && staged.body ? [{ Delete: { TableName: tableName, Key: { PK, SK: STAGED_SK } } }] : []),
    ...added.map((item) => ({ Delete: { TableName: tableName, Key: { PK, SK: item.SK } } })),
    // A create's recent-change item stands for a version that will never exist (no other write of
    // the id can exist while its placeholder is marked); an update's stays, standing for the
    // resource, whose previous write's item staging replaced.
    ...(isPlaceholder(current) ? [{ Delete: { TableName: tableName, Key: recentChangeKey(key.tenant, key.resourceType, key.id) } }] : []),
  ];
}

/** The CURRENT item a write is conditioned on: exactly the planned state, and no open transaction on it. */
function stateCondition(state: KnownState) {
  return state.kind === 'absent'
    ? { ConditionExpression: 'attribute_not_exists(PK)' }
    : {
        ConditionExpression: '#version = :version AND #deleted = :deleted AND attribute_not_exists(pendingTx)',
        ExpressionAttributeNames: { '#version': 'version', '#deleted': 'deleted' },
        ExpressionAttributeValues: { ':version': state.current.version, ':deleted': state.current.deleted },
      };
}

function currentItem(planned: PlannedVersion): Record<string, unknown> {
  return {
    ...planned.stored,
    lookups: planned.lookups.items.map((item) => item.SK),
    ...(planned.resource ? indexKeys(planned, planned.resource) : {}),
  };
}

function versionItem(planned: PlannedVersion): Record<string, unknown> {
  const { key, stored } = planned;
  return { ...stored, SK: versionSK(stored.version), ...gsi3TypeHistory(key.tenant, key.resourceType, stored.lastUpdated, key.id, stored.version) };
}

function indexKeys(planned: PlannedVersion, resource: Resource): Record<string, string> {
  const { key, stored, lookups } = planned;
  return {
    ...currentIndexKeys(key.tenant, resource, stored.lastUpdated),
    ...(lookups.overflow ? gsi1LookupOverflow(key.tenant, key.resourceType, key.id) : {}),
  };
}

/**
 * Lookup items of the replaced version that this one lacks. A write presumed from If-Match does
 * not know them: the stale ones it leaves only add candidates that matching discards.
 */
function staleLookups(planned: PlannedVersion): string[] {
  const kept = new Set(planned.lookups.items.map((item) => item.SK));
  return planned.state.kind === 'present' ? (planned.state.lookups ?? []).filter((sk) => !kept.has(sk)) : [];
}

export function toVersion(item: StoredItem, decoded?: Resource): ResourceVersion {
  return {
    resourceType: item.resourceType,
    id: item.id,
    version: Number(item.version),
    lastUpdated: item.lastUpdated,
    deleted: item.deleted,
    method: item.method,
    resource: decoded ?? (item.body ? decodeBody(item.body) : undefined),
    ...(item.author === undefined ? {} : { author: item.author }),
  };
}

export function stateOf(item: StoredItem | undefined): KnownState {
  return item ? { kind: 'present', current: toVersion(item), lookups: item.lookups ?? [] } : { kind: 'absent' };
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

/** Index keys and items alike: both carry the table keys. */
type Keyed = { readonly PK?: unknown; readonly SK?: unknown };

export function itemKey(item: Keyed): string {
  return `${String(item.PK)}|${String(item.SK)}`;
}

const BATCH_GET_LIMIT = 100;
/** BatchGetItem requests in flight at once when reading many items. */
const BATCH_GET_PARALLEL = 8;

/** Strongly consistent reads of items by key, in the order of the keys (missing ones left out); chunks are read in parallel. */
export async function batchGetItems(client: DynamoDBDocumentClient, tableName: string, keys: readonly Keyed[]): Promise<TableItem[]> {
  const chunks: Keyed[][] = [];
  for (let offset = 0; offset < keys.length; offset += BATCH_GET_LIMIT) {
    chunks.push(keys.slice(offset, offset + BATCH_GET_LIMIT).map((k) => ({ PK: k.PK, SK: k.SK })));
  }
  const found = new Map<string, TableItem>();
  for (let start = 0; start < chunks.length; start += BATCH_GET_PARALLEL) {
    const results = await Promise.all(chunks.slice(start, start + BATCH_GET_PARALLEL).map((chunk) => batchGetChunk(client, tableName, chunk)));
    for (const item of results.flat()) {
      found.set(itemKey(item), item);
    }
  }
  return keys.flatMap((k) => found.get(itemKey(k)) ?? []);
}

/** One BatchGetItem of at most 100 keys, retrying what DynamoDB leaves unprocessed. */
async function batchGetChunk(client: DynamoDBDocumentClient, tableName: string, keys: Keyed[]): Promise<TableItem[]> {
  const items: TableItem[] = [];
  let pending = keys;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const { Responses, UnprocessedKeys } = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }));
    items.push(...((Responses?.[tableName] ?? []) as TableItem[]));
    pending = UnprocessedKeys?.[tableName]?.Keys ?? [];
    if (pending.length > 0) {
      await backoff(attempt);
    }
  }
  return items;
}

export async function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(200, 5 * 2 ** attempt);
  await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
