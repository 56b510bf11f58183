/**
 * Export jobs in the table (keys in core/storage/keys.ts): the JOB item (the request, status and
 * counters) and one CHUNK item per unit of work (what it reads, how far it got, the files it
 * wrote). Progress is recorded together with the file it describes, in one conditional update, so
 * a chunk resumed after a Lambda timeout starts exactly after the last file it recorded: no
 * resource is written twice or skipped. A lease on the chunk keeps a duplicate delivery of its
 * message from running it twice at once.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, BatchWriteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EXPORT_CHUNK_SK_PREFIX, EXPORT_JOB_SK, exportChunkSK, exportPK } from '../storage/keys.js';
import { queryPages } from '../storage/paginate.js';
import { backoff } from '../storage/version-items.js';
import type { TenantId } from '../tenant.js';
import type { ExportLevel } from './parameters.js';

export type JobStatus = 'planning' | 'in-progress' | 'completed' | 'failed';

export interface ExportJob {
  readonly tenant: TenantId;
  readonly exportId: string;
  /** The subject who kicked it off: only they see its status or cancel it. */
  readonly owner: string;
  /** The kick-off URL, echoed in the manifest's `request`. */
  readonly request: string;
  readonly level: ExportLevel;
  readonly groupId?: string;
  /** The Group version whose members are exported. */
  readonly groupVersion?: number;
  readonly types: readonly string[];
  readonly since?: string;
  readonly typeFilters: Readonly<Record<string, readonly string[]>>;
  /** When the kick-off was accepted: the manifest's `transactionTime`. */
  readonly transactionTime: string;
  readonly status: JobStatus;
  readonly chunksTotal?: number;
  readonly chunksDone: number;
  readonly error?: string;
}

/** A page position in an index: the last key read (DynamoDB's ExclusiveStartKey). */
export type IndexKey = Record<string, string>;

/** What a chunk reads. */
export type ChunkSource =
  /** Live resources of the type through GSI3, from after `after` up to `until` (GSI3SK, inclusive; open-ended when absent). */
  | { readonly kind: 'type'; readonly after?: IndexKey; readonly until?: string }
  /** The type in these patients' compartments through GSI2, one partition per patient. */
  | { readonly kind: 'patients'; readonly patients: readonly string[] }
  /** The type's multi-patient GSI2 partition, kept when in a compartment of the job's Group. */
  | { readonly kind: 'multi' }
  /** These resources by id (a Group's Patients). */
  | { readonly kind: 'ids'; readonly ids: readonly string[] };

/** Where a chunk resumes: the patient partition it was in (patients) and the last index key written. */
export interface ChunkCursor {
  readonly partition?: number;
  readonly key?: IndexKey;
}

export interface ExportFile {
  readonly key: string;
  readonly count: number;
  readonly bytes: number;
}

export interface ExportChunk {
  readonly index: number;
  readonly resourceType: string;
  readonly source: ChunkSource;
  readonly cursor?: ChunkCursor;
  /** The number of the next file. */
  readonly part: number;
  readonly files: readonly ExportFile[];
  readonly done: boolean;
}

export type ChunkPlan = Pick<ExportChunk, 'resourceType' | 'source'>;

/** Why a chunk cannot be run now. */
export type LeaseRefusal = 'done' | 'gone' | 'held';

/** The job's items were removed (canceled) or its chunk is run by another worker: stop, writing nothing more. */
export class ChunkLostError extends Error {}

const BATCH_WRITE_LIMIT = 25;

export class ExportJobs {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(job: ExportJob): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { PK: exportPK(job.tenant, job.exportId), SK: EXPORT_JOB_SK, ...job }, ConditionExpression: 'attribute_not_exists(PK)' }),
    );
  }

  async job(tenant: TenantId, exportId: string): Promise<ExportJob | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { PK: exportPK(tenant, exportId), SK: EXPORT_JOB_SK }, ConsistentRead: true }));
    return Item && jobOf(Item);
  }

  /** The job and its planned chunks, in order. */
  async withChunks(tenant: TenantId, exportId: string): Promise<{ job: ExportJob; chunks: ExportChunk[] } | undefined> {
    const items = await this.items(tenant, exportId);
    const jobItem = items.find((item) => item.SK === EXPORT_JOB_SK);
    if (!jobItem) {
      return undefined;
    }
    const job = jobOf(jobItem);
    const chunks = items.filter((item) => String(item.SK).startsWith(EXPORT_CHUNK_SK_PREFIX)).map(chunkOf);
    // A planner that ran twice may have left chunks past the total of the plan that counted.
    return { job, chunks: chunks.filter((chunk) => job.chunksTotal !== undefined && chunk.index < job.chunksTotal) };
  }

  /**
   * Stores the plan: the chunks, then the job's total and status. False if the job is no longer
   * being planned (canceled meanwhile, or planned by a duplicate run): its chunks are removed again.
   */
  async storePlan(job: ExportJob, plans: readonly ChunkPlan[]): Promise<boolean> {
    const pk = exportPK(job.tenant, job.exportId);
    const items = plans.map((plan, index) => ({ PK: pk, SK: exportChunkSK(index), index, ...plan, part: 0, files: [], done: false }));
    await this.batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: pk, SK: EXPORT_JOB_SK },
          UpdateExpression: 'SET #status = :running, chunksTotal = :total',
          ConditionExpression: '#status = :planning',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'in-progress', ':planning': 'planning', ':total': plans.length },
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw error;
      }
      const current = await this.job(job.tenant, job.exportId);
      if (!current) {
        await this.batchWrite(items.map(({ PK, SK }) => ({ DeleteRequest: { Key: { PK, SK } } })));
      }
      return false;
    }
  }

  /**
   * Takes the chunk for `owner` until `until` (ms): it is free, expired, or already the owner's.
   * Returns the chunk, or why not.
   */
  async lease(tenant: TenantId, exportId: string, index: number, owner: string, until: number): Promise<ExportChunk | LeaseRefusal> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: exportPK(tenant, exportId), SK: exportChunkSK(index) },
          UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
          ConditionExpression: 'attribute_exists(PK) AND done = :false AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)',
          ExpressionAttributeValues: { ':owner': owner, ':until': until, ':now': Date.now(), ':false': false },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return chunkOf(Attributes ?? {});
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw error;
      }
      return !error.Item ? 'gone' : error.Item.done?.BOOL ? 'done' : 'held';
    }
  }

  /**
   * Records a file the chunk wrote (or none) and where to go on from, conditioned on the lease
   * and the part it was numbered with. The last record of a chunk also counts it done on the job.
   * Throws ChunkLostError when the condition fails.
   */
  async record(
    tenant: TenantId,
    exportId: string,
    chunk: Pick<ExportChunk, 'index' | 'part'>,
    owner: string,
    progress: { file?: ExportFile; cursor: ChunkCursor; done: boolean },
  ): Promise<void> {
    const pk = exportPK(tenant, exportId);
    const update = {
      TableName: this.tableName,
      Key: { PK: pk, SK: exportChunkSK(chunk.index) },
      UpdateExpression: `SET #cursor = :cursor, done = :done, part = :next${progress.file ? ', files = list_append(files, :files)' : ''}`,
      ConditionExpression: 'attribute_exists(PK) AND leaseOwner = :owner AND part = :part',
      ExpressionAttributeNames: { '#cursor': 'cursor' },
      ExpressionAttributeValues: {
        ':cursor': progress.cursor,
        ':done': progress.done,
        ':owner': owner,
        ':part': chunk.part,
        ':next': chunk.part + (progress.file ? 1 : 0),
        ...(progress.file ? { ':files': [progress.file] } : {}),
      },
    };
    try {
      if (!progress.done) {
        await this.client.send(new UpdateCommand(update));
        return;
      }
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: update },
            {
              Update: {
                TableName: this.tableName,
                Key: { PK: pk, SK: EXPORT_JOB_SK },
                UpdateExpression: 'ADD chunksDone :one',
                ConditionExpression: '#status = :running',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':one': 1, ':running': 'in-progress' },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || error instanceof TransactionCanceledException) {
        throw new ChunkLostError(`Chunk ${chunk.index} of export ${exportId} was canceled or taken over`);
      }
      throw error;
    }
  }

  /** Gives up the owner's lease on a chunk after a failure, so the message's next delivery can run it at once. */
  async release(tenant: TenantId, exportId: string, index: number, owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: exportPK(tenant, exportId), SK: exportChunkSK(index) },
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw error;
      }
    }
  }

  /** Marks the job completed once every chunk is done; false while some are not. */
  async completeIfDone(tenant: TenantId, exportId: string): Promise<boolean> {
    return this.setStatus(tenant, exportId, 'completed', 'chunksDone = chunksTotal AND #status = :running', {});
  }

  /** Marks a running job failed, with the reason its status will show. */
  async fail(tenant: TenantId, exportId: string, error: string): Promise<boolean> {
    return this.setStatus(tenant, exportId, 'failed', '#status IN (:running, :planning)', { ':planning': 'planning', ':error': error.slice(0, 1000) });
  }

  private async setStatus(tenant: TenantId, exportId: string, status: JobStatus, condition: string, values: Record<string, string>): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: exportPK(tenant, exportId), SK: EXPORT_JOB_SK },
          UpdateExpression: `SET #status = :status${':error' in values ? ', #error = :error' : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#status': 'status', ...(':error' in values ? { '#error': 'error' } : {}) },
          ExpressionAttributeValues: { ':status': status, ':running': 'in-progress', ...values },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return false;
      }
      throw error;
    }
  }

  /** Removes the job and its chunks. */
  async remove(tenant: TenantId, exportId: string): Promise<void> {
    const items = await this.items(tenant, exportId);
    await this.batchWrite(items.map(({ PK, SK }) => ({ DeleteRequest: { Key: { PK, SK } } })));
  }

  private async items(tenant: TenantId, exportId: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    const pages = queryPages(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': exportPK(tenant, exportId) },
      ConsistentRead: true,
    });
    for await (const page of pages) {
      items.push(...(page.Items ?? []));
    }
    return items;
  }

  private async batchWrite(requests: readonly Record<string, unknown>[]): Promise<void> {
    for (let offset = 0; offset < requests.length; offset += BATCH_WRITE_LIMIT) {
      let pending = requests.slice(offset, offset + BATCH_WRITE_LIMIT);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > 1) {
          await backoff(attempt);
        }
        const { UnprocessedItems } = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = (UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      }
    }
  }
}

function jobOf(item: Record<string, unknown>): ExportJob {
  const { PK: _pk, SK: _sk, ...job } = item;
  return { ...(job as unknown as ExportJob), chunksDone: Number(item.chunksDone ?? 0) };
}

function chunkOf(item: Record<string, unknown>): ExportChunk {
  return {
    index: Number(item.index),
    resourceType: String(item.resourceType),
    source: item.source as ChunkSource,
    ...(item.cursor ? { cursor: item.cursor as ChunkCursor } : {}),
    part: Number(item.part),
    files: (item.files ?? []) as ExportFile[],
    done: item.done === true,
  };
}
