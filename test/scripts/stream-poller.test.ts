/**
 * The local event source mapping against the run's DynamoDB Local: each test writes to its own
 * table and checks what a stream handler on Lambda would see — the event's shape, order, batch
 * sizes, partial batch responses, bisection and dead-lettering of a poisoned record, drain, stop.
 * DynamoDB Local rolls shards only every 4 hours, so shard lineage is checked on a fake stream.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, DeleteItemCommand, DeleteTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  type _Record as StreamsRecord,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { localDynamoDbClient } from '../../scripts/local/dynamodb-local.js';
import { type StreamPoller, type StreamPollerOptions, startStreamPoller } from '../../scripts/local/stream-poller.js';
import { ensureLocalTable } from '../../scripts/local/table.js';

const endpoint = process.env.DYNAMODB_ENDPOINT!;
const client = localDynamoDbClient(endpoint);
const tables: string[] = [];
const pollers: StreamPoller[] = [];

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  vi.restoreAllMocks();
});

afterAll(async () => {
  await Promise.all(tables.map((TableName) => client.send(new DeleteTableCommand({ TableName }))));
  client.destroy();
});

async function freshTable(): Promise<string> {
  const name = `stream-poller-test-${randomUUID()}`;
  tables.push(name);
  await ensureLocalTable(endpoint, name);
  return name;
}

/** Fast polling and retries, so failure paths take milliseconds. */
async function poll(tableName: string, options: Partial<StreamPollerOptions> & Pick<StreamPollerOptions, 'handler'>): Promise<StreamPoller> {
  const poller = await startStreamPoller({ endpoint, tableName, pollIntervalMs: 20, retryBackoff: { initialMs: 5, maxMs: 20 }, ...options });
  pollers.push(poller);
  return poller;
}

/** A handler that keeps every event it is invoked with. */
function recording(respond: (event: DynamoDBStreamEvent) => DynamoDBBatchResponse | void = () => undefined) {
  const events: DynamoDBStreamEvent[] = [];
  return {
    events,
    handler: async (event: DynamoDBStreamEvent) => {
      events.push(event);
      return respond(event);
    },
  };
}

async function putItems(tableName: string, count: number, prefix = 'item'): Promise<void> {
  for (let start = 0; start < count; start += 25) {
    const puts = Array.from({ length: Math.min(25, count - start) }, (_, i) => ({
      PutRequest: { Item: { PK: { S: `${prefix}-${String(start + i).padStart(4, '0')}` }, SK: { S: 'v1' } } },
    }));
    await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: puts } }));
  }
}

const pk = (record: DynamoDBRecord) => record.dynamodb!.Keys!.PK!.S!;
const sequenceNumbers = (event: DynamoDBStreamEvent) => event.Records.map((record) => record.dynamodb!.SequenceNumber!);

describe('startStreamPoller', () => {
  it('delivers INSERT, MODIFY and REMOVE records in Lambda’s shape and in order per key', async () => {
    const table = await freshTable();
    const { events, handler } = recording();
    const poller = await poll(table, { handler });
    const key = { PK: { S: 'Patient|1' }, SK: { S: 'current' } };
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const inserted = { ...key, body: { B: bytes }, parts: { BS: [bytes, new Uint8Array([7])] }, version: { N: '1' } };
    await client.send(new PutItemCommand({ TableName: table, Item: inserted }));
    await client.send(new PutItemCommand({ TableName: table, Item: { PK: { S: 'Patient|2' }, SK: { S: 'current' }, version: { N: '1' } } }));
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET version = :v, tags = :t',
        ExpressionAttributeValues: { ':v': { N: '2' }, ':t': { L: [{ S: 'a' }, { M: { nested: { B: bytes } } }] } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: table, Key: key }));
    await poller.drain();

    const records = events.flatMap((event) => event.Records);
    const base64 = Buffer.from(bytes).toString('base64');
    const forKey = records.filter((record) => pk(record) === 'Patient|1');
    expect(forKey.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    const [insert, modify, remove] = forKey;
    expect(insert).toEqual({
      eventID: expect.any(String),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: expect.any(String),
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: key,
        NewImage: { ...key, body: { B: base64 }, parts: { BS: [base64, 'Bw=='] }, version: { N: '1' } },
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: poller.streamArn,
    });
    // Epoch seconds (DynamoDB Local truncates to the minute).
    expect(Math.abs(insert!.dynamodb!.ApproximateCreationDateTime! - Date.now() / 1000)).toBeLessThan(120);
    expect(modify!.dynamodb!.OldImage).toEqual(insert!.dynamodb!.NewImage);
    expect(modify!.dynamodb!.NewImage).toEqual({
      ...insert!.dynamodb!.NewImage,
      version: { N: '2' },
      tags: { L: [{ S: 'a' }, { M: { nested: { B: base64 } } }] },
    });
    expect(remove!.dynamodb).not.toHaveProperty('NewImage');
    expect(remove!.dynamodb!.OldImage).toEqual(modify!.dynamodb!.NewImage);
    // The whole stream in write order: sequence numbers only grow.
    const numbers = records.map((record) => BigInt(record.dynamodb!.SequenceNumber!));
    expect(numbers).toEqual([...numbers].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(records.map(pk)).toEqual(['Patient|1', 'Patient|2', 'Patient|1', 'Patient|1']);
  });

  it('invokes with at most batchSize records, one batch at a time', async () => {
    const table = await freshTable();
    await putItems(table, 25);
    let inFlight = 0;
    let mostInFlight = 0;
    const sizes: number[] = [];
    const poller = await poll(table, {
      batchSize: 10,
      handler: async (event) => {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        sizes.push(event.Records.length);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
      },
    });
    await poller.drain();
    expect(sizes).toEqual([10, 10, 5]);
    expect(mostInFlight).toBe(1);
  });

  it('drain() resolves once every record written before it has been delivered', async () => {
    const table = await freshTable();
    const { events, handler } = recording();
    const poller = await poll(table, { handler });
    await putItems(table, 120);
    await poller.drain();
    const keys = events.flatMap((event) => event.Records.map(pk));
    expect(keys).toHaveLength(120);
    expect(new Set(keys).size).toBe(120);
    expect(poller.stats()).toMatchObject({ delivered: 120, deadLettered: 0, retries: 0 });
    // Nothing new: drain answers within a poll or two.
    await poller.drain();
  });

  it('redelivers from the lowest sequence number in batchItemFailures, and not the records before it', async () => {
    const table = await freshTable();
    await putItems(table, 6);
    let reported = false;
    const { events, handler } = recording((event) => {
      if (reported) {
        return;
      }
      reported = true;
      const [, , third, , fifth] = event.Records;
      // Several failures: the lowest sequence number is the checkpoint, whatever the list order.
      return { batchItemFailures: [{ itemIdentifier: fifth!.dynamodb!.SequenceNumber! }, { itemIdentifier: third!.dynamodb!.SequenceNumber! }] };
    });
    const poller = await poll(table, { handler });
    await poller.drain();
    const [first, retry, ...rest] = events;
    expect(first!.Records.map(pk)).toEqual(['item-0000', 'item-0001', 'item-0002', 'item-0003', 'item-0004', 'item-0005']);
    expect(retry!.Records.map(pk)).toEqual(['item-0002', 'item-0003', 'item-0004', 'item-0005']);
    expect(rest).toEqual([]);
    expect(sequenceNumbers(retry!)).toEqual(sequenceNumbers(first!).slice(2));
    expect(poller.stats()).toMatchObject({ invocations: 2, retries: 1, delivered: 6, deadLettered: 0 });
  });

  it('bisects a failing batch, dead-letters a poisoned record after maximumRetryAttempts and delivers all the others', async () => {
    const table = await freshTable();
    await putItems(table, 8);
    const poisoned = 'item-0005';
    const processed: string[] = [];
    let poisonedInvocations = 0;
    const deadLetters: { record: DynamoDBRecord; error: unknown }[] = [];
    const poller = await poll(table, {
      maximumRetryAttempts: 2,
      handler: async (event) => {
        const keys = event.Records.map(pk);
        if (keys.includes(poisoned)) {
          poisonedInvocations += keys.length === 1 ? 1 : 0;
          throw new Error('poisoned');
        }
        processed.push(...keys);
      },
      onDeadLetter: (record, error) => {
        deadLetters.push({ record, error });
      },
    });
    await poller.drain();
    expect(deadLetters.map(({ record }) => pk(record))).toEqual([poisoned]);
    expect((deadLetters[0]!.error as Error).message).toBe('poisoned');
    // Alone, it is tried once and retried maximumRetryAttempts times.
    expect(poisonedInvocations).toBe(3);
    // Everyone else exactly once, in stream order: bisection retries only batches that failed.
    expect(processed).toEqual(['item-0000', 'item-0001', 'item-0002', 'item-0003', 'item-0004', 'item-0006', 'item-0007']);
    expect(poller.stats()).toMatchObject({ delivered: 7, deadLettered: 1 });
  });

  it('without bisection, dead-letters the whole failing batch and goes on with the next', async () => {
    const table = await freshTable();
    await putItems(table, 6);
    let attempts = 0;
    const deadLettered: string[] = [];
    const { events, handler } = recording((event) => {
      if (event.Records.some((record) => pk(record) === 'item-0001')) {
        attempts += 1;
        throw new Error('down');
      }
    });
    const poller = await poll(table, {
      handler,
      batchSize: 3,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: 1,
      onDeadLetter: (record) => void deadLettered.push(pk(record)),
    });
    await poller.drain();
    expect(attempts).toBe(2);
    expect(deadLettered).toEqual(['item-0000', 'item-0001', 'item-0002']);
    expect(events.at(-1)!.Records.map(pk)).toEqual(['item-0003', 'item-0004', 'item-0005']);
  });

  it('with LATEST, delivers only what is written after start', async () => {
    const table = await freshTable();
    await putItems(table, 3, 'before');
    const { events, handler } = recording();
    const poller = await poll(table, { handler, startingPosition: 'LATEST' });
    await putItems(table, 2, 'after');
    await poller.drain();
    expect(events.flatMap((event) => event.Records.map(pk))).toEqual(['after-0000', 'after-0001']);
  });

  it('stop() ends promptly, even during a retry wait, and nothing is delivered afterwards', async () => {
    const table = await freshTable();
    await putItems(table, 1);
    let invocations = 0;
    const poller = await poll(table, {
      retryBackoff: { initialMs: 60_000, maxMs: 60_000 },
      handler: async () => {
        invocations += 1;
        throw new Error('down');
      },
    });
    await expect.poll(() => invocations).toBe(1);
    const stopping = Date.now();
    await poller.stop();
    expect(Date.now() - stopping).toBeLessThan(1000);
    await putItems(table, 1, 'later');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(invocations).toBe(1);
    await expect(poller.drain()).rejects.toThrow(/stopped/);
  });
});

interface FakeShard {
  readonly id: string;
  readonly parentId?: string;
  readonly keys: string[];
  closed: boolean;
  /** Listed by DescribeStream only from this time on. */
  visibleFrom?: number;
}

/**
 * DynamoDB Streams' read API over fixed shards, one shard per DescribeStream page. Reading a
 * parent is slow, so a poller that did not wait for it would deliver the children first.
 */
function fakeStream(shards: FakeShard[]) {
  let sequence = 0;
  const records = new Map(
    shards.map((shard) => [
      shard.id,
      shard.keys.map(
        (key): StreamsRecord => ({
          eventID: randomUUID(),
          eventName: 'INSERT',
          eventVersion: '1.1',
          eventSource: 'aws:dynamodb',
          awsRegion: 'ddblocal',
          dynamodb: {
            Keys: { PK: { S: key } },
            NewImage: { PK: { S: key } },
            SequenceNumber: String(++sequence).padStart(21, '0'),
            SizeBytes: 10,
            StreamViewType: 'NEW_AND_OLD_IMAGES',
          },
        }),
      ),
    ]),
  );
  const iterator = (shardId: string, index: number) => JSON.stringify({ shardId, index });
  return async (command: unknown) => {
    if (command instanceof DescribeStreamCommand) {
      const listed = shards.filter((shard) => (shard.visibleFrom ?? 0) <= Date.now());
      const start = command.input.ExclusiveStartShardId ? listed.findIndex((shard) => shard.id === command.input.ExclusiveStartShardId) + 1 : 0;
      const shard = listed[start]!;
      const description: Shard = {
        ShardId: shard.id,
        ParentShardId: shard.parentId,
        SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: shard.closed ? '2' : undefined },
      };
      return { StreamDescription: { Shards: [description], LastEvaluatedShardId: start < listed.length - 1 ? shard.id : undefined } };
    }
    if (command instanceof GetShardIteratorCommand) {
      const { ShardId, ShardIteratorType, SequenceNumber } = command.input;
      const checkpoint = ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? records.get(ShardId!)!.findIndex((record) => record.dynamodb!.SequenceNumber === SequenceNumber) : -1;
      return { ShardIterator: iterator(ShardId!, checkpoint + 1) };
    }
    if (command instanceof GetRecordsCommand) {
      const { shardId, index } = JSON.parse(command.input.ShardIterator!) as { shardId: string; index: number };
      const shard = shards.find((candidate) => candidate.id === shardId)!;
      if (shard.parentId === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      const page = records.get(shardId)!.slice(index, index + command.input.Limit!);
      const next = index + page.length;
      const atEnd = shard.closed && next === shard.keys.length;
      return { Records: page, NextShardIterator: atEnd ? undefined : iterator(shardId, next) };
    }
    throw new Error(`Unexpected command ${(command as object).constructor.name}`);
  };
}

describe('startStreamPoller on a stream with shard lineage', () => {
  it('reads a parent shard to its end before its children, and finds shards that appear later', async () => {
    const table = await freshTable();
    const shards: FakeShard[] = [
      // Listed before its parent: the order of DescribeStream's pages is not the lineage.
      { id: 'child', parentId: 'parent', keys: ['child-1', 'child-2'], closed: true },
      { id: 'parent', keys: ['parent-1', 'parent-2', 'parent-3'], closed: true },
      // Appears once the poller is running, as after DynamoDB Local's rollover of `child`.
      { id: 'grandchild', parentId: 'child', keys: ['grandchild-1'], closed: false, visibleFrom: Date.now() + 100 },
    ];
    vi.spyOn(DynamoDBStreamsClient.prototype, 'send').mockImplementation(fakeStream(shards) as never);
    const { events, handler } = recording();
    const poller = await poll(table, { handler, batchSize: 2 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await poller.drain();
    expect(events.flatMap((event) => event.Records.map(pk))).toEqual(['parent-1', 'parent-2', 'parent-3', 'child-1', 'child-2', 'grandchild-1']);
    expect(events.map((event) => event.Records.length)).toEqual([2, 1, 2, 1]);
  });
});
