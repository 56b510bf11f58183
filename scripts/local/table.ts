import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../core/storage/table-schema.js';
import { localDynamoDbClient } from './dynamodb-local.js';

const TABLE_ACTIVE_TIMEOUT_SECONDS = 60;

/**
 * Creates the FHIR table (`core/storage/table-schema.ts`) unless it exists, then waits until it
 * is ACTIVE. Idempotent, and safe when two processes ensure the same table at once.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  if (!(await tableExists(client, tableName))) {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (error) {
      // Someone else created it between our DescribeTable and CreateTable.
      if (!(error instanceof ResourceInUseException)) {
        throw error;
      }
    }
  }
  await waitUntilTableExists({ client, maxWaitTime: TABLE_ACTIVE_TIMEOUT_SECONDS, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
}

/** `ensureTable` against a DynamoDB Local endpoint, with a short-lived client. */
export async function ensureLocalTable(endpoint: string, tableName: string): Promise<void> {
  const client = localDynamoDbClient(endpoint);
  try {
    await ensureTable(client, tableName);
  } finally {
    client.destroy();
  }
}

async function tableExists(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) {
      return false;
    }
    throw error;
  }
}
