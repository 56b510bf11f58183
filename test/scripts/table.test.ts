/** `ensureTable` against the run's DynamoDB Local (started by test/support/global-setup.ts). */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { localDynamoDbClient } from '../../scripts/local/dynamodb-local.js';
import { ensureTable } from '../../scripts/local/table.js';

const client = localDynamoDbClient(process.env.DYNAMODB_ENDPOINT!);
const created: string[] = [];

afterAll(async () => {
  await Promise.all(created.map((TableName) => client.send(new DeleteTableCommand({ TableName }))));
  client.destroy();
});

function freshTableName(): string {
  const name = `ensure-${randomUUID()}`;
  created.push(name);
  return name;
}

async function describeTable(tableName: string) {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return Table!;
}

describe('ensureTable', () => {
  it('creates the FHIR table: PK/SK, three KEYS_ONLY GSIs and a NEW_AND_OLD_IMAGES stream', async () => {
    const name = freshTableName();
    await ensureTable(client, name);
    const table = await describeTable(name);
    expect(table.TableStatus).toBe('ACTIVE');
    expect(table.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    const indexes = (table.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: index.IndexName,
      keys: index.KeySchema?.map((key) => key.AttributeName),
      projection: index.Projection?.ProjectionType,
    }));
    expect(indexes.sort((a, b) => a.name!.localeCompare(b.name!))).toEqual([
      { name: 'GSI1', keys: ['GSI1PK', 'GSI1SK'], projection: 'KEYS_ONLY' },
      { name: 'GSI2', keys: ['GSI2PK', 'GSI2SK'], projection: 'KEYS_ONLY' },
      { name: 'GSI3', keys: ['GSI3PK', 'GSI3SK'], projection: 'KEYS_ONLY' },
    ]);
    expect(table.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(table.LatestStreamArn).toBeTruthy();
  });

  it('is idempotent: a second call keeps the table, its creation time and its stream', async () => {
    const name = freshTableName();
    await ensureTable(client, name);
    const first = await describeTable(name);
    await ensureTable(client, name);
    const second = await describeTable(name);
    expect(second.CreationDateTime).toEqual(first.CreationDateTime);
    expect(second.LatestStreamArn).toBe(first.LatestStreamArn);
  });

  it('tolerates two processes ensuring the same table at once', async () => {
    const name = freshTableName();
    await Promise.all([ensureTable(client, name), ensureTable(client, name)]);
    expect((await describeTable(name)).TableStatus).toBe('ACTIVE');
  });

  it('has already created the table the handlers use in tests', async () => {
    expect(process.env.FHIR_AUTH_MODE).toBe('local-dev');
    expect((await describeTable(process.env.FHIR_TABLE_NAME!)).TableStatus).toBe('ACTIVE');
  });
});
