/**
 * The DynamoDB document client, created once per process, with a meter that counts every
 * request and the capacity it consumed (RCU/WCU including indexes). The benchmark and the
 * request logs read the meter; Lambda serves one request at a time per process, so a process
 * meter is a per-request meter there.
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

export function createDocumentClient(config: Pick<RuntimeConfig, 'region' | 'dynamoEndpoint'>): DynamoDBDocumentClient {
  // DynamoDB Local answers 500 "too long waiting for a lock" under load, where AWS would succeed:
  // locally, retry those longer (the SDK retries 500s with backoff).
  const client = new DynamoDBClient({ region: config.region, endpoint: config.dynamoEndpoint, maxAttempts: config.dynamoEndpoint ? 10 : 4 });
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
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
