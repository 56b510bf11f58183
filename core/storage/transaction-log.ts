/**
 * Transactions too large for one TransactWriteItems (100 items, 4 MB): a commit protocol on the
 * same table, with one transaction record per transaction as the single point of truth.
 *
 *   1. Record   put the record (PENDING, a deadline: now + lease) and, beside it, the list of
 *               the resources it writes; the record stays small because every staging chunk
 *               checks it and every reader meeting a marker reads it.
 *   2. Stage    the resources that can contend in chunks of one TransactWriteItems, in key
 *               order: per resource, CURRENT marked with `pendingTx` under the same condition a
 *               direct write has (plus: no other open transaction), the new VERSION marked,
 *               STAGED and new lookup items put (version-items.ts). Every chunk also checks that
 *               the record is still PENDING, so once anyone has aborted the transaction no late
 *               chunk of a stalled writer can land. Beside them, fresh resources (below).
 *   3. Commit   one conditional update of the record, PENDING → COMMITTED: the commit point.
 *   4. Finalize in parallel chunks: per resource, CURRENT becomes the new version and the
 *               markers and STAGED go, conditioned on the marker (finalizing twice is harmless).
 *               Then the list and the record are deleted.
 *
 * Readers resolve a marker through the record (repository.ts): COMMITTED shows the staged
 * version, anything else the committed state, so all of a transaction becomes visible at once.
 * A loser (a chunk meets a changed resource or another transaction's marker) aborts its own
 * record and rolls back what it staged. After the deadline anyone may finish a transaction:
 * PENDING → ABORTED (conditional, so a slow writer's commit and an abort cannot both win) and
 * roll back; COMMITTED → finalize; ABORTED → roll back.
 *
 * Fresh resources (POSTs under ids the server just made: random UUIDs nobody else can know until
 * the transaction answers) cannot contend with anything, so they need neither key order nor the
 * fence: their staging items (the same items, each still conditioned on not existing) go in
 * TransactWriteItems of their own, several at once, beside the fenced chunks. (The fence is
 * what serializes chunks: DynamoDB refuses concurrent transactions on one item, the record.)
 * What the fence gave them is argued instead:
 *   - Before the commit nothing of them shows: readers judge their markers by the record.
 *   - The writer commits only once every one of its chunks has been answered, so a committed
 *     transaction has all of them in place; whatever fails, it waits for the chunks in flight
 *     before rolling back.
 *   - A late chunk (a stalled writer's request landing after the transaction ended) lands only
 *     if none of its items exists: never over a finalized resource. After an abort it lands
 *     marked by a record that is ABORTED (invisible; removed by the rollback unless it read those
 *     resources already) or gone. Finishing removes every marker before deleting the record, so
 *     a marker still there once its record is gone is such an orphan: readers take it as
 *     uncommitted (absent), and a writer meeting one rolls it back first (repository.ts
 *     `settle`). A writer still alive finds its commit refused and rolls back its own fresh
 *     resources, late ones included. Only a writer dying after such a landing leaves orphans:
 *     invisible, blocking no one (nobody else writes those ids), removed by a writer meeting one;
 *     the sweep cannot find them, no record pointing at them any more.
 *   - To need even that a request in flight for 30 s: no fresh chunk is sent (retries included)
 *     later than half the lease before the deadline; the transaction is rolled back instead.
 *   - Finalizing is unchanged, conditioned on the marker, so a finalize arriving after a later
 *     write (one that finished the transaction first) changes nothing.
 * On DynamoDB staging thus takes as long as its slowest chunks rather than the sum of all of
 * them (DynamoDB Local, measured, gains nothing: it seems to run transactions one at a time).
 * BatchWriteItem (an ordinary write per item, 1 WCU/KB rather than a transaction's 2) was
 * measured too: DynamoDB Local spends as much per item on it, with four times the requests
 * (25 items each), and it would give up the conditions.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FhirError } from '../errors.js';
import { mapLimited } from '../map-limited.js';
import type { TenantId } from '../tenant.js';
import { CURRENT_SK, TRANSACTION_RESOURCES_SK, TRANSACTION_SK, gsi3OpenTransaction, gsi3OpenTransactionsPartition, resourcePK, transactionPK, versionSK } from './keys.js';
import { queryPages } from './paginate.js';
import {
  backoff,
  batchGetItems,
  directWriteItems,
  finalizingItems,
  isFresh,
  pendingVersion,
  rollbackItems,
  stagedVersion,
  stagingItems,
  type PlannedVersion,
  type ResourceKey,
  type StoredItem,
  type TransactItem,
} from './version-items.js';

/** Points of the protocol where a test can make the writer stop as if its process died. */
export type CommitStage = 'staging' | 'staged' | 'committed' | 'finalizing';

export interface CommitFaults {
  /** Called after each stage; whatever it throws stops the commit there, with no cleanup. */
  after(stage: CommitStage): void;
}

export interface TransactionLogOptions {
  /** Tests only. */
  readonly faults?: CommitFaults;
  /** Epoch milliseconds; tests move it past a transaction's deadline. */
  readonly clock?: () => number;
}

type TransactionStatus = 'PENDING' | 'COMMITTED' | 'ABORTED';

export interface TransactionRecord {
  readonly status: TransactionStatus;
  /** Epoch ms after which anyone may finish the transaction (abort it if still pending). */
  readonly deadline: number;
}

/** Time a writer has between creating its record and committing, before others may abort it. */
export const TRANSACTION_LEASE_MS = 60_000;
/** Keeps the list of resources (one `Type/id` of at most ~100 bytes each) far below the 400 KB item limit. */
export const MAX_TRANSACTION_RESOURCES = 3_000;

/** DynamoDB's TransactWriteItems limits: 100 items, 4 MB of items (margin kept for old bodies an update replaces). */
const MAX_TRANSACTION_ITEMS = 100;
const MAX_TRANSACTION_BYTES = 3 * 1024 * 1024;
/** Keys, index keys, metadata and the lookup SK list of one item, generously. */
const ITEM_OVERHEAD_BYTES = 2 * 1024;
/** Finalize and rollback chunks in flight at once. */
const FINISH_PARALLEL = 8;
/** Staging chunks of fresh resources in flight at once. */
const STAGE_PARALLEL = 8;
/**
 * No fresh resource's staging is sent later than this before the deadline: such a chunk has no
 * fence, so for it to land after a finisher aborted the transaction, it would have to be in
 * flight (SDK retries included) this long.
 */
const FRESH_STAGING_MARGIN_MS = TRANSACTION_LEASE_MS / 2;
const MAX_CHUNK_ATTEMPTS = 10;
/** Cancellation reasons worth another try: the items that did not fail, contention, throttling. */
const TRANSIENT_CANCELLATIONS = new Set(['None', 'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** One resource's writes in one step of the protocol: never split across transactions. */
interface Unit {
  readonly key: ResourceKey;
  readonly items: TransactItem[];
}

export class TransactionLog {
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: TransactionLogOptions = {},
  ) {
    this.now = options.clock ?? Date.now;
  }

  /**
   * Writes the planned versions (all of one tenant, each resource once) all or nothing: as one
   * TransactWriteItems when they fit in one, otherwise through the protocol. A resource that
   * changed since it was planned, or that another transaction holds, fails the whole
   * transaction with 409 naming it, and nothing of it remains.
   */
  async commit(tenant: TenantId, planned: readonly PlannedVersion[]): Promise<void> {
    const direct = planned.map((p) => ({ key: p.key, items: directWriteItems(this.tableName, p) }));
    const items = direct.flatMap((unit) => unit.items);
    if (items.length <= MAX_TRANSACTION_ITEMS && approximateBytes(items) <= MAX_TRANSACTION_BYTES) {
      await this.commitDirectly(direct);
      return;
    }
    if (planned.length > MAX_TRANSACTION_RESOURCES) {
      throw FhirError.payloadTooLarge(`This transaction writes ${planned.length} resources; the limit is ${MAX_TRANSACTION_RESOURCES}`);
    }
    // Key order: two transactions meet first at their first shared resource, so one of them
    // always gets through rather than each holding what the other needs.
    const ordered = [...planned].sort((a, b) => (a.stored.PK < b.stored.PK ? -1 : 1));
    const txId = randomUUID();
    const deadline = this.now() + TRANSACTION_LEASE_MS;
    const record = { TableName: this.tableName, Item: { ...this.recordKey(tenant, txId), status: 'PENDING', deadline, ...gsi3OpenTransaction(tenant, new Date(deadline).toISOString(), txId) } };
    const list = { TableName: this.tableName, Item: { ...this.listKey(tenant, txId), resources: ordered.map((p) => `${p.key.resourceType}/${p.key.id}`) } };
    await this.client.send(new TransactWriteCommand({ TransactItems: [{ Put: record }, { Put: list }] }));
    await this.stage(tenant, txId, deadline, ordered);
    if (!(await this.transition(tenant, txId, 'PENDING', 'COMMITTED'))) {
      await this.rollBack(tenant, txId, ordered);
      throw leaseExpired();
    }
    try {
      this.options.faults?.after('committed');
      await this.finish(txId, 'finalize', ordered.map((p) => ({ key: p.key, items: finalizingItems(this.tableName, p, txId) })));
      await this.deleteRecord(tenant, txId);
    } catch {
      // Committed, and every reader already sees all of it: whatever finalizing left undone, the
      // next reader or writer past the deadline (or the sweep) finishes. Failing the request now
      // would only invite a retry that writes everything twice.
    }
  }

  private async commitDirectly(units: readonly Unit[]): Promise<void> {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: units.flatMap((unit) => unit.items) }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) {
        throw error;
      }
      const reasons = error.CancellationReasons ?? [];
      const [changed] = [...unitsWith(units, reasons, 'ConditionalCheckFailed'), ...unitsWith(units, reasons, 'TransactionConflict')];
      throw changed ? changedConcurrently(changed.key) : error;
    }
  }

  /**
   * Stages the contended resources in fenced chunks, one after the other in key order, and
   * beside them the fresh ones in unfenced chunks, `STAGE_PARALLEL` at a time.
   * Whatever fails, every request already sent is answered before the transaction is rolled
   * back, so that none of the writer's own items lands after its rollback.
   */
  private async stage(tenant: TenantId, txId: string, deadline: number, ordered: readonly PlannedVersion[]): Promise<void> {
    const fence: TransactItem = {
      ConditionCheck: {
        TableName: this.tableName,
        Key: this.recordKey(tenant, txId),
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'PENDING' },
      },
    };
    const units = (fresh: boolean) => ordered.filter((p) => isFresh(p) === fresh).map((p) => ({ key: p.key, items: stagingItems(this.tableName, p, txId) }));
    const contended = chunksOf(units(false), 1);
    const fresh = chunksOf(units(true), 0);
    // The first failure (or injected crash) stops every further request; those in flight are awaited.
    let halted: { error: unknown } | undefined;
    let first = true;
    const send = async (request: () => Promise<void>): Promise<void> => {
      try {
        await request();
      } catch (error) {
        halted ??= { error };
        return;
      }
      if (first) {
        first = false;
        try {
          this.options.faults?.after('staging');
        } catch (error) {
          halted ??= { error: new InjectedFault(error) };
        }
      }
    };
    const going = () => halted === undefined;
    await Promise.all([
      // Key order: two transactions meet first at their first shared resource.
      mapLimited(contended, 1, async (chunk) => going() && send(() => this.stageChunk([fence], chunk))),
      mapLimited(
        fresh,
        STAGE_PARALLEL,
        async (chunk) =>
          going() &&
          send(() =>
            this.stageChunk([], chunk, () => {
              // Unfenced: none is sent (retries included) once a finisher could be near to aborting the transaction.
              if (this.now() > deadline - FRESH_STAGING_MARGIN_MS) {
                throw leaseExpired();
              }
            }),
          ),
      ),
    ]);
    if (halted?.error instanceof InjectedFault) {
      throw halted.error.error;
    }
    if (halted) {
      await this.rollBack(tenant, txId, ordered);
      throw halted.error;
    }
    this.options.faults?.after('staged');
  }

  /**
   * One staging chunk. Transient conflicts with concurrent transactions on the same items are
   * retried; any other failure fails the staging, and with it the transaction.
   */
  private async stageChunk(fence: readonly TransactItem[], chunk: readonly Unit[], beforeEach = (): void => undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        beforeEach();
        await this.client.send(new TransactWriteCommand({ TransactItems: [...fence, ...chunk.flatMap((unit) => unit.items)] }));
        return;
      } catch (error) {
        failure = error;
      }
      const cancelled = failure instanceof TransactionCanceledException ? (failure.CancellationReasons ?? []) : undefined;
      if (attempt < MAX_CHUNK_ATTEMPTS && cancelled?.every((reason) => TRANSIENT_CANCELLATIONS.has(reason.Code ?? 'None'))) {
        await backoff(attempt);
        continue;
      }
      const fenceReason = fence.length > 0 ? cancelled?.[0] : undefined;
      const reasons = (cancelled ?? []).slice(fence.length);
      const changed = unitsWith(chunk, reasons, 'ConditionalCheckFailed')[0] ?? unitsWith(chunk, reasons, 'TransactionConflict')[0];
      throw fenceReason?.Code === 'ConditionalCheckFailed' ? leaseExpired() : changed ? changedConcurrently(changed.key) : failure;
    }
  }

  /**
   * Rolls back a transaction that will not commit: aborts it unless someone already has, then
   * rolls back what is marked, fresh items that landed after another finisher's rollback
   * included (they have no fence).
   */
  private async rollBack(tenant: TenantId, txId: string, ordered: readonly PlannedVersion[]): Promise<void> {
    await this.recover(tenant, txId);
    await this.rollBackResources(txId, ordered.filter(isFresh).map((p) => p.key));
  }

  /** Rolls back what the transaction, aborted or gone, still marks of these resources. */
  async rollBackResources(txId: string, keys: readonly ResourceKey[]): Promise<void> {
    await this.finish(txId, 'rollback', await this.unitsToFinish(txId, 'rollback', keys));
  }

  /** The record, read strongly consistently; undefined once the transaction is finished. */
  async record(tenant: TenantId, txId: string): Promise<TransactionRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.recordKey(tenant, txId), ConsistentRead: true }));
    return Item && { status: Item.status as TransactionStatus, deadline: Number(Item.deadline) };
  }

  /**
   * Whether a writer meeting this transaction's marker finishes it first: what is decided
   * (committed or aborted), and past the deadline everything; before it, a pending transaction
   * makes the write fail. A reader never does: it sees through any transaction by its record
   * (committed shows, pending or aborted does not), so a read writes nothing — the read
   * functions' IAM allows no writes — and leaves abandoned transactions to the next writer and
   * the stream processor's sweep.
   */
  mustFinish(record: TransactionRecord, intent: 'read' | 'write'): boolean {
    return intent === 'write' && (this.isAbandoned(record) || record.status !== 'PENDING');
  }

  /** Past its deadline: its writer is gone, and anyone may finish it. */
  isAbandoned(record: TransactionRecord): boolean {
    return this.now() > record.deadline;
  }

  /** Drives a transaction to its end: a pending one is aborted and rolled back, a committed one finalized. */
  async recover(tenant: TenantId, txId: string): Promise<void> {
    for (;;) {
      const record = await this.record(tenant, txId);
      if (!record) {
        return;
      }
      if (record.status === 'PENDING' && !(await this.transition(tenant, txId, 'PENDING', 'ABORTED'))) {
        // Its writer committed it (or someone else aborted it) meanwhile: read it again.
        continue;
      }
      const { Item: list } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.listKey(tenant, txId), ConsistentRead: true }));
      // The list is deleted only once every resource is finished, just before the record.
      const keys = ((list?.resources ?? []) as string[]).map((reference) => {
        const [resourceType, id] = reference.split('/');
        return { tenant, resourceType, id };
      });
      const outcome = record.status === 'COMMITTED' ? 'finalize' : 'rollback';
      await this.finish(txId, outcome, await this.unitsToFinish(txId, outcome, keys));
      await this.deleteRecord(tenant, txId);
      return;
    }
  }

  /** Finishes the tenant's transactions past their deadline; returns how many. */
  async recoverAbandoned(tenant: TenantId): Promise<number> {
    let recovered = 0;
    const pastDeadline = queryPages(this.client, {
      TableName: this.tableName,
      IndexName: 'GSI3',
      KeyConditionExpression: 'GSI3PK = :pk AND GSI3SK < :now',
      ExpressionAttributeValues: { ':pk': gsi3OpenTransactionsPartition(tenant), ':now': new Date(this.now()).toISOString() },
    });
    for await (const page of pastDeadline) {
      for (const key of page.Items ?? []) {
        const txId = String(key.GSI3SK).slice(String(key.GSI3SK).indexOf('#') + 1);
        const record = await this.record(tenant, txId);
        if (record && this.isAbandoned(record)) {
          await this.recover(tenant, txId);
          recovered += 1;
        }
      }
    }
    return recovered;
  }

  /**
   * Applies finalize or rollback units: the writer builds them from its planned versions, anyone
   * else from what is still marked. The resources of a chunk that fails (someone else finished
   * part of it, or a transient conflict) are read again, and what is still marked is retried.
   */
  private async finish(txId: string, outcome: 'finalize' | 'rollback', initial: Unit[]): Promise<void> {
    let units = initial;
    for (let attempt = 1; units.length > 0; attempt++) {
      const failed = await this.applyInParallel(chunksOf(units, 0), outcome);
      if (failed.length === 0) {
        return;
      }
      if (attempt === MAX_CHUNK_ATTEMPTS) {
        throw new Error(`Transaction ${txId}: ${failed.length} resources could not be ${outcome === 'finalize' ? 'finalized' : 'rolled back'}; a later reader will retry`);
      }
      await backoff(attempt);
      units = await this.unitsToFinish(txId, outcome, failed);
    }
  }

  /** The finalize or rollback units of the resources still marked by the transaction, from their current items. */
  private async unitsToFinish(txId: string, outcome: 'finalize' | 'rollback', keys: readonly ResourceKey[]): Promise<Unit[]> {
    const byPK = new Map(keys.map((key) => [resourcePK(key.tenant, key.resourceType, key.id), key]));
    const currents = await batchGetItems(this.client, this.tableName, [...byPK.keys()].map((PK) => ({ PK, SK: CURRENT_SK })));
    const marked = currents.filter((item) => item.pendingTx === txId);
    const staged = await batchGetItems(this.client, this.tableName, marked.map((item) => ({ PK: item.PK, SK: versionSK(pendingVersion(item)) })));
    const stagedByPK = new Map(staged.map((item) => [item.PK, item as StoredItem]));
    return marked.flatMap((current) => {
      const key = byPK.get(current.PK) as ResourceKey;
      const version = stagedByPK.get(current.PK);
      // A marker and its staged version are written, and rolled back, in one TransactWriteItems:
      // a version gone since its marker was read was rolled back by someone else meanwhile.
      if (!version) {
        return [];
      }
      const items = outcome === 'finalize' ? finalizingItems(this.tableName, stagedVersion(key, current, version), txId) : rollbackItems(this.tableName, key, current, version, txId);
      return [{ key, items }];
    });
  }

  /** Runs the chunks, `FINISH_PARALLEL` at a time; returns the resources of the chunks that failed. */
  private async applyInParallel(chunks: readonly Unit[][], outcome: 'finalize' | 'rollback'): Promise<ResourceKey[]> {
    const failed: ResourceKey[] = [];
    for (let start = 0; start < chunks.length; start += FINISH_PARALLEL) {
      const group = chunks.slice(start, start + FINISH_PARALLEL);
      const results = await Promise.all(group.map((chunk) => this.apply(chunk)));
      failed.push(...group.filter((_, index) => !results[index]).flatMap((chunk) => chunk.map((unit) => unit.key)));
      if (start === 0 && outcome === 'finalize') {
        this.options.faults?.after('finalizing');
      }
    }
    return failed;
  }

  /** One chunk as one TransactWriteItems; false when DynamoDB cancelled it. */
  private async apply(chunk: readonly Unit[]): Promise<boolean> {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: chunk.flatMap((unit) => unit.items) }));
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        return false;
      }
      throw error;
    }
  }

  /** Moves the record from one status to another if it is still in the first; false if it is not (or is gone). */
  private async transition(tenant: TenantId, txId: string, from: TransactionStatus, to: TransactionStatus): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: this.recordKey(tenant, txId),
            UpdateExpression: 'SET #status = :to',
            ConditionExpression: '#status = :from',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':from': from, ':to': to },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          return false;
        }
        // A staging chunk checking the record is in flight; it ends within one request.
        if (!(error instanceof TransactionConflictException) || attempt === MAX_CHUNK_ATTEMPTS) {
          throw error;
        }
        await backoff(attempt);
      }
    }
  }

  /** The list first: a record without its list is a transaction with nothing left to finish. */
  private async deleteRecord(tenant: TenantId, txId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: this.listKey(tenant, txId) }));
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: this.recordKey(tenant, txId) }));
  }

  private recordKey(tenant: TenantId, txId: string) {
    return { PK: transactionPK(tenant, txId), SK: TRANSACTION_SK };
  }

  private listKey(tenant: TenantId, txId: string) {
    return { PK: transactionPK(tenant, txId), SK: TRANSACTION_RESOURCES_SK };
  }
}

function leaseExpired(): FhirError {
  return FhirError.of(503, 'timeout', `The transaction took longer than ${TRANSACTION_LEASE_MS / 1000} s and was rolled back; nothing was written`);
}

function changedConcurrently(key: ResourceKey): FhirError {
  return FhirError.conflict(`${key.resourceType}/${key.id} changed while the transaction was processed; nothing was written`);
}

/** The units whose items got this cancellation reason. */
function unitsWith(chunk: readonly Unit[], reasons: readonly { Code?: string }[], code: string): Unit[] {
  let offset = 0;
  return chunk.filter((unit) => {
    const hit = reasons.slice(offset, offset + unit.items.length).some((reason) => reason.Code === code);
    offset += unit.items.length;
    return hit;
  });
}

/** Units packed in order into as few TransactWriteItems as the limits allow, `reserved` items kept free in each. */
function chunksOf(units: readonly Unit[], reserved: number): Unit[][] {
  const chunks: Unit[][] = [];
  let chunk: Unit[] = [];
  let items = 0;
  let bytes = 0;
  for (const unit of units) {
    const size = approximateBytes(unit.items);
    if (chunk.length > 0 && (items + unit.items.length > MAX_TRANSACTION_ITEMS - reserved || bytes + size > MAX_TRANSACTION_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      items = 0;
      bytes = 0;
    }
    chunk.push(unit);
    items += unit.items.length;
    bytes += size;
  }
  if (chunk.length > 0) {
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * What DynamoDB counts against a transaction's 4 MB: bodies dominate, the rest is bounded. A
 * body counts twice: the same version's body is on CURRENT and on VERSION, and steps that
 * update one of them without carrying it are still charged for it.
 */
function approximateBytes(items: readonly TransactItem[]): number {
  return items.reduce((sum, item) => sum + ITEM_OVERHEAD_BYTES + 2 * ((item.Put?.Item as { body?: Uint8Array } | undefined)?.body?.length ?? 0), 0);
}

/** What a test's fault hook threw: the writer stops there as if its process died, cleaning nothing up. */
class InjectedFault {
  constructor(readonly error: unknown) {}
}
