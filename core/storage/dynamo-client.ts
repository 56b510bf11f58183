/**
 * The DynamoDB document client, created once per process, with a meter that counts every
 * request and the capacity it consumed (RCU/WCU including indexes). The benchmark and the
 * request logs read the meter; Lambda serves one request at a time per process, so a process
 * meter is a per-request meter there. Under the local server, which runs requests of many
 * callers at once in one process, a request's log line counts whatever ran beside it too: an
 * AsyncLocalStorage scope per request would separate them, but on Node 22 it hooks every
 * promise, and the SDK makes hundreds per request (measured: about 15 % more CPU per request
 * on average, in a noisy micro-benchmark), a price every deployed request would pay for a
 * figure only local runs get wrong.
 */
import { DynamoDBClient, type ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RuntimeConfig } from '../config.js';

export interface DynamoUsage {
  requests: number;
  readCapacityUnits: number;
  writeCapacityUnits: number;
  /** Items returned by reads (index keys from queries, items from gets). */
  itemsRead: number;
  /** Requests by DynamoDB operation name, e.g. { GetItem: 1, TransactWriteItems: 1 }. */
  operations: Record<string, number>;
}

export const dynamoUsage: DynamoUsage = emptyUsage();

export function emptyUsage(): DynamoUsage {
  return { requests: 0, readCapacityUnits: 0, writeCapacityUnits: 0, itemsRead: 0, operations: {} };
}

export function resetDynamoUsage(): DynamoUsage {
  const snapshot = { ...dynamoUsage, operations: { ...dynamoUsage.operations } };
  Object.assign(dynamoUsage, emptyUsage());
  return snapshot;
}

const READ_OPERATIONS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

function recordCapacity(operation: string, capacity: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
  for (const entry of [capacity ?? []].flat()) {
    if (entry.ReadCapacityUnits === undefined && entry.WriteCapacityUnits === undefined) {
      // Only a total is reported: its side follows from the operation.
      const side = READ_OPERATIONS.has(operation) ? 'readCapacityUnits' : 'writeCapacityUnits';
      dynamoUsage[side] += entry.CapacityUnits ?? 0;
    } else {
      dynamoUsage.readCapacityUnits += entry.ReadCapacityUnits ?? 0;
      dynamoUsage.writeCapacityUnits += entry.WriteCapacityUnits ?? 0;
    }
  }
}

interface ReadOutput {
  ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[];
  Item?: unknown;
  Items?: unknown[];
  Responses?: Record<string, unknown[]> | unknown[];
}

function itemsIn(output: ReadOutput): number {
  if (output.Items) {
    return output.Items.length;
  }
  if (output.Responses) {
    return Object.values(output.Responses).reduce((sum: number, items) => sum + (Array.isArray(items) ? items.length : 1), 0);
  }
  return output.Item ? 1 : 0;
}

/**
 * When this process last wrote each item (`table|PK|SK`), oldest first, for the simulated GSI lag:
 * shared by every client of the process, since a writer and a searcher may use different ones.
 */
const writtenAt = new Map<string, number>();

type Keyed = { PK?: unknown; SK?: unknown };

/** The items a write request puts, updates or deletes. */
function writtenItems(operation: string, input: Record<string, any>): { table: string; key: Keyed }[] {
  switch (operation) {
    case 'PutItem':
      return [{ table: input.TableName, key: input.Item }];
    case 'UpdateItem':
    case 'DeleteItem':
      return [{ table: input.TableName, key: input.Key }];
    case 'TransactWriteItems':
      return (input.TransactItems ?? []).flatMap((item: Record<string, any>) => {
        const write = item.Put ?? item.Update ?? item.Delete;
        return write ? [{ table: write.TableName, key: write.Item ?? write.Key }] : [];
      });
    case 'BatchWriteItem':
      return Object.entries(input.RequestItems ?? {}).flatMap(([table, requests]) =>
        (requests as Record<string, any>[]).map((request) => ({ table, key: request.PutRequest?.Item ?? request.DeleteRequest?.Key })),
      );
    default:
      return [];
  }
}

function writtenKey(table: string, key: Keyed): string {
  return `${table}|${String(key.PK)}|${String(key.SK)}`;
}

/**
 * Makes GSIs lag as they may on AWS, where they are updated asynchronously (DynamoDB Local updates
 * them with the write): a GSI query leaves out the items this process wrote less than `lagMs` ago.
 * Harsher than AWS, which would still show such an item's previous index entry.
 */
function simulateGsiLag(client: DynamoDBClient, lagMs: number): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? '').replace(/Command$/, '');
      const input = args.input as Record<string, any>;
      const result = await next(args);
      const now = Date.now();
      if (operation === 'Query' && input.IndexName) {
        const output = result.output as { Items?: Keyed[]; Count?: number };
        output.Items = output.Items?.filter((item) => !(now - (writtenAt.get(writtenKey(input.TableName, item)) ?? -Infinity) < lagMs));
        output.Count = output.Items?.length;
        return result;
      }
      for (const { table, key } of writtenItems(operation, input)) {
        const written = writtenKey(table, key);
        writtenAt.delete(written);
        writtenAt.set(written, now);
      }
      for (const [written, at] of writtenAt) {
        if (now - at < lagMs) {
          break;
        }
        writtenAt.delete(written);
      }
      return result;
    },
    { step: 'initialize', name: 'simulatedGsiLag' },
  );
}

export function createDocumentClient(config: Pick<RuntimeConfig, 'region' | 'dynamoEndpoint'> & Partial<Pick<RuntimeConfig, 'simulatedGsiLagMs'>>): DynamoDBDocumentClient {
  // DynamoDB Local answers 500 "too long waiting for a lock" under load, where AWS would succeed:
  // locally, retry those longer (the SDK retries 500s with backoff).
  const client = new DynamoDBClient({ region: config.region, endpoint: config.dynamoEndpoint, maxAttempts: config.dynamoEndpoint ? 10 : 4 });
  // The SDK's logger middleware copies every input and output through the schema's
  // sensitive-data filter for a logger that, here, writes nothing: 3 % of a request's CPU.
  client.middlewareStack.remove('loggerMiddleware');
  client.middlewareStack.add(
    (next, context) => async (args) => {
      (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'INDEXES';
      const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      dynamoUsage.requests += 1;
      dynamoUsage.operations[operation] = (dynamoUsage.operations[operation] ?? 0) + 1;
      const result = await next(args);
      const output = result.output as ReadOutput;
      recordCapacity(operation, output.ConsumedCapacity);
      dynamoUsage.itemsRead += itemsIn(output);
      return result;
    },
    { step: 'initialize', name: 'consumedCapacityMeter' },
  );
  if (config.simulatedGsiLagMs) {
    simulateGsiLag(client, config.simulatedGsiLagMs);
  }
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
