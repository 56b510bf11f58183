/**
 * The local stand-in for Lambda's DynamoDB Streams event source mapping: reads the table's stream
 * on DynamoDB Local and invokes a handler with the event Lambda would send, under Lambda's rules.
 *
 * - Shards are read in lineage order (a parent to its end before its children), each one batch at
 *   a time in sequence order; different shards run concurrently.
 * - A partial batch response (ReportBatchItemFailures) checkpoints before the lowest reported
 *   sequence number and retries from there.
 * - A thrown error splits the batch in two (BisectBatchOnFunctionError), which costs no retry, so
 *   a poisoned record ends up alone. A batch that still fails after `maximumRetryAttempts` goes to
 *   `onDeadLetter` (Lambda's on-failure destination) and the shard moves on.
 * - Retries wait, doubling per consecutive failure, so a down dependency is retried, not spun on.
 *
 * What DynamoDB Local does differently from DynamoDB: a record is readable as soon as the write
 * returns; a shard rolls over every 4 hours of wall-clock time (not on throughput);
 * ApproximateCreationDateTime is truncated to the minute; `awsRegion` is `ddblocal` and the stream
 * ARN's account 000000000000 (both passed through as they come).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  type AttributeValue,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamsRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue as LambdaAttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { localDynamoDbClient } from './dynamodb-local.js';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export type StreamPollerLogger = Pick<Logger, 'debug' | 'warn' | 'error'>;

export interface StreamPollerOptions {
  /** DynamoDB Local's endpoint. */
  readonly endpoint: string;
  /** A table with a stream; its `LatestStreamArn` is read. */
  readonly tableName: string;
  readonly handler: StreamHandler;
  /**
   * Records per invocation at most (Lambda's `BatchSize`, default 100). One GetRecords call fills
   * a batch, so batches never exceed GetRecords' own limit of 1,000 records.
   */
  readonly batchSize?: number;
  /**
   * Where to start in the shards open at start (Lambda's `StartingPosition`); shards that appear
   * later are always read from their first record. TRIM_HORIZON (default) delivers everything
   * still in the stream, right for a fresh in-memory table; with tables kept on disk it
   * re-delivers up to 24 hours of records at every start, which LATEST avoids.
   */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Retries of a failing batch before it is dead-lettered; -1 is unlimited (Lambda's default). Default here: 10. */
  readonly maximumRetryAttempts?: number;
  /** Lambda's `BisectBatchOnFunctionError` (default true here; false on Lambda). */
  readonly bisectBatchOnFunctionError?: boolean;
  /**
   * Holds each batch this long after reading it before invoking the handler (default 0): tests
   * and local runs make the index lag behind the table, to show what searches do meanwhile.
   */
  readonly deliveryDelayMs?: number;
  /** How long a shard that returned nothing waits before polling again (default 200 ms). */
  readonly pollIntervalMs?: number;
  /** The wait before a retry: `initialMs`, doubling per consecutive failure on the shard up to `maxMs` (default 100 ms to 2 s). */
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /** How often to look for new shards besides when a shard ends (default 10 s). */
  readonly shardDiscoveryIntervalMs?: number;
  /** Lambda's on-failure destination. Default: log an error naming the record's keys. */
  readonly onDeadLetter?: (record: DynamoDBRecord, error: unknown) => void | Promise<void>;
  /** Default: a Powertools logger, which prints warnings and errors only unless `POWERTOOLS_LOG_LEVEL` says otherwise. */
  readonly logger?: StreamPollerLogger;
}

export interface StreamPollerStats {
  /** Handler invocations, retries included. */
  readonly invocations: number;
  /** Invocations that re-sent records of a failed invocation (bisected halves included). */
  readonly retries: number;
  /** Records the handler processed: checkpointed past without being dead-lettered. */
  readonly delivered: number;
  /** Records given up on and passed to `onDeadLetter`. */
  readonly deadLettered: number;
}

export interface StreamPoller {
  /** The stream being read. */
  readonly streamArn: string;
  /**
   * Resolves once every record written before the call has been delivered or dead-lettered;
   * rejects after `timeoutMs` (default 30 s) or if the poller stops first.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops reading: waits for the batch in flight, cancels any retry wait, leaves no timers. */
  stop(): Promise<void>;
  stats(): StreamPollerStats;
}

/** Lambda's limit on an invocation's payload, which caps a batch below `batchSize` when records are large. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const MAX_GET_RECORDS_LIMIT = 1000;
/** How often `drain` checks whether every shard has caught up. */
const DRAIN_CHECK_INTERVAL_MS = 10;

export async function startStreamPoller(options: StreamPollerOptions): Promise<StreamPoller> {
  const tables = localDynamoDbClient(options.endpoint);
  // The same dummy credentials and region the table client signs with.
  const streams = new DynamoDBStreamsClient({ endpoint: options.endpoint, region: tables.config.region, credentials: tables.config.credentials });
  try {
    const { Table } = await tables.send(new DescribeTableCommand({ TableName: options.tableName }));
    if (!Table?.LatestStreamArn) {
      throw new Error(`Table ${options.tableName} has no stream to poll`);
    }
    const poller = new Poller(streams, Table.LatestStreamArn, options);
    await poller.start();
    return {
      streamArn: Table.LatestStreamArn,
      drain: (timeoutMs) => poller.drain(timeoutMs),
      stop: () => poller.stop(),
      stats: () => ({ ...poller.counts }),
    };
  } catch (error) {
    streams.destroy();
    throw error;
  } finally {
    tables.destroy();
  }
}

interface ShardReader {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  /** Where reading starts when no record has been read yet. */
  readonly initialPosition: 'TRIM_HORIZON' | 'LATEST';
  /** Taken during start for LATEST, so that records written once start resolves are delivered. */
  startIterator: string | undefined;
  /** The last record delivered or dead-lettered: the checkpoint to resume after. */
  checkpoint: string | undefined;
  /** The tick at which the latest empty GetRecords started: everything before it is delivered. */
  caughtUpAt: number;
  /** Failed invocations since the last successful one: sets the wait before the next. */
  consecutiveFailures: number;
  ended: boolean;
  /** Resolves when the shard has been read to its end (closed shards only). */
  readonly whenEnded: Promise<void>;
  readonly markEnded: () => void;
}

type InvocationOutcome =
  | { readonly kind: 'processed' }
  | { readonly kind: 'partial'; readonly failedIndex: number; readonly error: Error }
  | { readonly kind: 'failed'; readonly error: unknown };

/** Ends a delivery cut short by `stop()`; the shard reader then returns. */
class PollerStopped extends Error {}

class Poller {
  readonly counts = { invocations: 0, retries: 0, delivered: 0, deadLettered: 0 };
  private readonly shards = new Map<string, ShardReader>();
  private readonly readers: Promise<void>[] = [];
  /** Aborted by `stop()`: cancels every wait. */
  private readonly abort = new AbortController();
  private readonly stopRequested: Promise<void>;
  private stopped: Promise<void> | undefined;
  private discoveryLoop: Promise<void> = Promise.resolve();
  private discovery: Promise<void> = Promise.resolve();
  private queuedDiscovery: Promise<void> | undefined;
  /** The tick at which the latest successful discovery started: every shard it listed is registered. */
  private discoveredAt = 0;
  /** Orders events (reads, discoveries, drain calls) without relying on clock resolution. */
  private clock = 0;

  private readonly batchSize: number;
  private readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  private readonly maximumRetryAttempts: number;
  private readonly bisect: boolean;
  private readonly pollIntervalMs: number;
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  private readonly shardDiscoveryIntervalMs: number;
  private readonly logger: StreamPollerLogger;
  private readonly onDeadLetter: (record: DynamoDBRecord, error: unknown) => void | Promise<void>;

  constructor(
    private readonly streams: DynamoDBStreamsClient,
    private readonly streamArn: string,
    private readonly options: StreamPollerOptions,
  ) {
    this.batchSize = options.batchSize ?? 100;
    this.startingPosition = options.startingPosition ?? 'TRIM_HORIZON';
    this.maximumRetryAttempts = options.maximumRetryAttempts ?? 10;
    this.bisect = options.bisectBatchOnFunctionError ?? true;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.backoff = options.retryBackoff ?? { initialMs: 100, maxMs: 2000 };
    this.shardDiscoveryIntervalMs = options.shardDiscoveryIntervalMs ?? 10_000;
    this.logger = options.logger ?? new Logger({ serviceName: 'fhir-local-stream-poller' });
    this.onDeadLetter = options.onDeadLetter ?? ((record, error) => this.logDeadLetter(record, error));
    this.stopRequested = new Promise((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, got ${this.batchSize}`);
    }
  }

  /** The first discovery fails loudly; later ones only log, and the next one retries. */
  async start(): Promise<void> {
    const startedAt = this.tick();
    const added = (await this.describeShards()).map((shard) => this.addShard(shard, true));
    if (this.startingPosition === 'LATEST') {
      for (const reader of added.filter((shard) => !shard.ended)) {
        reader.startIterator = await this.shardIterator(reader);
      }
    }
    added.forEach((reader) => this.startReader(reader));
    this.discoveredAt = startedAt;
    this.discoveryLoop = this.discoverPeriodically();
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  private async shutDown(): Promise<void> {
    this.abort.abort();
    await this.discoveryLoop;
    await this.discovery;
    await Promise.all(this.readers);
    this.streams.destroy();
  }

  async drain(timeoutMs = 30_000): Promise<void> {
    const since = this.tick();
    const deadline = Date.now() + timeoutMs;
    // Records written before this call may sit in a shard that is not known yet.
    await this.refreshShards();
    while (!this.caughtUpSince(since)) {
      if (this.abort.signal.aborted) {
        throw new Error('The stream poller stopped before it drained');
      }
      if (Date.now() > deadline) {
        throw new Error(`The stream poller did not drain within ${timeoutMs} ms (${JSON.stringify(this.counts)})`);
      }
      if (this.discoveredAt < since) {
        await this.refreshShards();
      }
      await sleep(DRAIN_CHECK_INTERVAL_MS);
    }
  }

  private caughtUpSince(since: number): boolean {
    return this.discoveredAt > since && [...this.shards.values()].every((shard) => shard.ended || shard.caughtUpAt > since);
  }

  private tick(): number {
    return ++this.clock;
  }

  // ---- shards ------------------------------------------------------------------------------

  private async describeShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    return shards;
  }

  /** One discovery at a time; a call while one runs queues (at most) one more, which sees later shards. */
  private refreshShards(): Promise<void> {
    this.queuedDiscovery ??= this.discovery.then(async () => {
      this.queuedDiscovery = undefined;
      if (this.abort.signal.aborted) {
        return;
      }
      try {
        const startedAt = this.tick();
        const listed = await this.describeShards();
        if (this.abort.signal.aborted) {
          return;
        }
        const added = listed.filter((shard) => !this.shards.has(shard.ShardId!)).map((shard) => this.addShard(shard, false));
        // All are registered before any starts, so a child listed before its parent still waits for it.
        added.forEach((reader) => this.startReader(reader));
        this.discoveredAt = startedAt;
      } catch (error) {
        this.logger.warn('DescribeStream failed; retrying at the next discovery', { streamArn: this.streamArn, error });
      }
    });
    this.discovery = this.queuedDiscovery;
    return this.queuedDiscovery;
  }

  private async discoverPeriodically(): Promise<void> {
    while (await this.pause(this.shardDiscoveryIntervalMs)) {
      await this.refreshShards();
    }
  }

  private addShard(shard: Shard, atStart: boolean): ShardReader {
    let markEnded!: () => void;
    const whenEnded = new Promise<void>((resolve) => (markEnded = resolve));
    const reader: ShardReader = {
      shardId: shard.ShardId!,
      parentShardId: shard.ParentShardId,
      initialPosition: atStart ? this.startingPosition : 'TRIM_HORIZON',
      startIterator: undefined,
      checkpoint: undefined,
      caughtUpAt: 0,
      consecutiveFailures: 0,
      ended: false,
      whenEnded,
      markEnded: () => {
        reader.ended = true;
        markEnded();
      },
    };
    this.shards.set(reader.shardId, reader);
    // Reading from LATEST, a shard already closed at start holds only records from before it.
    if (atStart && this.startingPosition === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) {
      reader.markEnded();
    }
    return reader;
  }

  private startReader(reader: ShardReader): void {
    if (!reader.ended) {
      this.readers.push(
        this.readShard(reader).catch((error) => this.logger.error('Shard reader failed', { shardId: reader.shardId, error })),
      );
    }
  }

  private async readShard(reader: ShardReader): Promise<void> {
    const parent = reader.parentShardId === undefined ? undefined : this.shards.get(reader.parentShardId);
    // A parent no longer listed has been trimmed, so there is nothing to wait for.
    if (parent) {
      await Promise.race([parent.whenEnded, this.stopRequested]);
    }
    let iterator = reader.startIterator;
    let readFailures = 0;
    while (!this.abort.signal.aborted) {
      try {
        iterator ??= await this.shardIterator(reader);
        const readStartedAt = this.tick();
        const page = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: Math.min(this.batchSize, MAX_GET_RECORDS_LIMIT) }));
        readFailures = 0;
        iterator = page.NextShardIterator;
        const records = page.Records ?? [];
        if (records.length > 0) {
          if (!(await this.pause(this.options.deliveryDelayMs ?? 0))) {
            return;
          }
          await this.deliver(reader, records.map((record) => lambdaRecord(record, this.streamArn)));
          reader.checkpoint = records.at(-1)!.dynamodb!.SequenceNumber;
        }
        if (iterator === undefined) {
          // A closed shard read to its end: its children, if any, can start.
          reader.markEnded();
          void this.refreshShards();
          return;
        }
        if (records.length === 0) {
          reader.caughtUpAt = readStartedAt;
          await this.pause(this.pollIntervalMs);
        }
      } catch (error) {
        if (this.abort.signal.aborted) {
          return;
        }
        // An expired iterator (15 minutes) or a DynamoDB Local hiccup: resume after the checkpoint.
        this.logger.warn('Reading the stream failed; retrying', { shardId: reader.shardId, error });
        iterator = undefined;
        readFailures += 1;
        await this.pause(this.retryWaitMs(readFailures));
      }
    }
  }

  private async shardIterator(reader: ShardReader): Promise<string | undefined> {
    const position = reader.checkpoint
      ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: reader.checkpoint }
      : { ShardIteratorType: reader.initialPosition };
    const { ShardIterator } = await this.streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: reader.shardId, ...position }));
    return ShardIterator;
  }

  // ---- delivery ----------------------------------------------------------------------------

  /** Returns once every record is processed or dead-lettered, in order. */
  private async deliver(reader: ShardReader, records: DynamoDBRecord[]): Promise<void> {
    for (const batch of payloadSizedBatches(records)) {
      await this.deliverBatch(reader, batch, false);
    }
  }

  private async deliverBatch(reader: ShardReader, records: DynamoDBRecord[], resent: boolean): Promise<void> {
    let batch = records;
    let retries = 0;
    let isRetry = resent;
    while (batch.length > 0) {
      if (isRetry) {
        this.counts.retries += 1;
      }
      if (reader.consecutiveFailures > 0 && !(await this.pause(this.retryWaitMs(reader.consecutiveFailures)))) {
        throw new PollerStopped();
      }
      const outcome = await this.invoke(batch);
      if (outcome.kind === 'processed') {
        reader.consecutiveFailures = 0;
        this.counts.delivered += batch.length;
        return;
      }
      reader.consecutiveFailures += 1;
      isRetry = true;
      if (outcome.kind === 'partial') {
        // Checkpoint before the lowest reported record; only the rest is retried.
        this.counts.delivered += outcome.failedIndex;
        batch = batch.slice(outcome.failedIndex);
      } else if (this.bisect && batch.length > 1) {
        // Splitting costs no retry, so a poisoned record is soon retried alone.
        const half = Math.ceil(batch.length / 2);
        await this.deliverBatch(reader, batch.slice(0, half), true);
        await this.deliverBatch(reader, batch.slice(half), true);
        return;
      }
      if (retries < this.maximumRetryAttempts || this.maximumRetryAttempts === -1) {
        retries += 1;
        continue;
      }
      // A reported record is given up on alone (the handler named it); a failed batch as a whole.
      const givenUp = outcome.kind === 'partial' ? batch.slice(0, 1) : batch;
      await this.deadLetter(givenUp, outcome.error);
      batch = batch.slice(givenUp.length);
      retries = 0;
    }
  }

  private async invoke(batch: DynamoDBRecord[]): Promise<InvocationOutcome> {
    this.counts.invocations += 1;
    this.logger.debug('Invoking the stream handler', { records: batch.length, firstSequenceNumber: sequenceNumber(batch[0]!) });
    let response: DynamoDBBatchResponse | void;
    try {
      // A fresh copy through JSON, as Lambda delivers it: a retry never sees the handler's mutations.
      response = await this.options.handler(JSON.parse(JSON.stringify({ Records: batch })) as DynamoDBStreamEvent);
    } catch (error) {
      return { kind: 'failed', error };
    }
    // As on Lambda, no response or an empty list is complete success.
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) {
      return { kind: 'processed' };
    }
    const indexes = failures.map((failure) => batch.findIndex((record) => sequenceNumber(record) === failure?.itemIdentifier));
    const unknown = failures.filter((_, i) => indexes[i] === -1).map((failure) => failure?.itemIdentifier);
    if (unknown.length > 0) {
      // Lambda treats an identifier that names no record of the batch as a failure of the whole batch.
      return { kind: 'failed', error: new Error(`batchItemFailures names ${JSON.stringify(unknown)}, not sequence numbers of records in the batch`) };
    }
    const failedIndex = Math.min(...indexes);
    return { kind: 'partial', failedIndex, error: new Error(`The handler reported record ${sequenceNumber(batch[failedIndex]!)} in batchItemFailures`) };
  }

  private async deadLetter(records: DynamoDBRecord[], error: unknown): Promise<void> {
    for (const record of records) {
      this.counts.deadLettered += 1;
      try {
        await this.onDeadLetter(record, error);
      } catch (deadLetterError) {
        this.logDeadLetter(record, error);
        this.logger.error('onDeadLetter failed', { error: deadLetterError });
      }
    }
  }

  private logDeadLetter(record: DynamoDBRecord, error: unknown): void {
    this.logger.error('Stream record dead-lettered after its retries', {
      eventName: record.eventName,
      keys: record.dynamodb?.Keys,
      sequenceNumber: sequenceNumber(record),
      error,
    });
  }

  private retryWaitMs(consecutiveFailures: number): number {
    return Math.min(this.backoff.initialMs * 2 ** (consecutiveFailures - 1), this.backoff.maxMs);
  }

  /** Waits `ms`; false, at once, when the poller stops. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
      return true;
    } catch {
      return false;
    }
  }
}

function sequenceNumber(record: DynamoDBRecord): string | undefined {
  return record.dynamodb?.SequenceNumber;
}

/** Consecutive slices of `records` whose event stays within Lambda's payload limit. */
function payloadSizedBatches(records: DynamoDBRecord[]): DynamoDBRecord[][] {
  const batches: DynamoDBRecord[][] = [];
  let current: DynamoDBRecord[] = [];
  let currentBytes = 0;
  for (const record of records) {
    const bytes = Buffer.byteLength(JSON.stringify(record));
    if (current.length > 0 && currentBytes + bytes > MAX_PAYLOAD_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(record);
    currentBytes += bytes;
  }
  if (current.length > 0) {
    batches.push(current);
  }
  return batches;
}

/**
 * A GetRecords record as Lambda puts it in the event: the creation time in epoch seconds, and
 * binary attributes as base64 strings (the SDK decodes them to bytes, Lambda's JSON does not).
 */
function lambdaRecord(record: StreamsRecord, eventSourceARN: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    dynamodb: {
      ApproximateCreationDateTime: change.ApproximateCreationDateTime && Math.floor(change.ApproximateCreationDateTime.getTime() / 1000),
      Keys: lambdaImage(change.Keys),
      NewImage: lambdaImage(change.NewImage),
      OldImage: lambdaImage(change.OldImage),
      SequenceNumber: change.SequenceNumber,
      SizeBytes: change.SizeBytes,
      StreamViewType: change.StreamViewType,
    },
    eventSourceARN,
    // Present on TTL deletions only.
    userIdentity: record.userIdentity,
  };
}

function lambdaImage(image: Record<string, AttributeValue> | undefined): Record<string, LambdaAttributeValue> | undefined {
  return image && Object.fromEntries(Object.entries(image).map(([name, value]) => [name, lambdaAttributeValue(value)]));
}

function lambdaAttributeValue(value: AttributeValue): LambdaAttributeValue {
  if (value.B !== undefined) {
    return { B: Buffer.from(value.B).toString('base64') };
  }
  if (value.BS !== undefined) {
    return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')) };
  }
  if (value.M !== undefined) {
    return { M: lambdaImage(value.M)! };
  }
  if (value.L !== undefined) {
    return { L: value.L.map(lambdaAttributeValue) };
  }
  // S, N, SS, NS, BOOL and NULL look the same in the SDK and in Lambda's JSON.
  return value as LambdaAttributeValue;
}
