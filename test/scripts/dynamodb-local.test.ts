/** Starting and stopping DynamoDB Local (the package cache it is fetched into: package-cache.test.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { localDynamoDbClient, startDynamoDbLocal } from '../../scripts/local/dynamodb-local.js';
import { ensureLocalTable } from '../../scripts/local/table.js';

const scratch = await mkdtemp(join(tmpdir(), 'fhir-scripts-test-'));

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function tableNames(endpoint: string): Promise<string[]> {
  const client = localDynamoDbClient(endpoint, { maxAttempts: 1 });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

describe('startDynamoDbLocal', () => {
  it('keeps tables across restarts with a data directory, and stops serving on stop()', async () => {
    const dataDir = join(scratch, 'dynamodb');
    const first = await startDynamoDbLocal({ dataDir });
    await ensureLocalTable(first.endpoint, 'persisted');
    await first.stop();
    await expect(tableNames(first.endpoint)).rejects.toThrow();

    const second = await startDynamoDbLocal({ dataDir });
    try {
      expect(await tableNames(second.endpoint)).toContain('persisted');
    } finally {
      await second.stop();
    }
  });

  it('says that Java is missing when it is', async () => {
    const path = process.env.PATH;
    process.env.PATH = scratch;
    try {
      await expect(startDynamoDbLocal()).rejects.toThrow(/needs Java 11 or newer.*no `java` was found on PATH/);
    } finally {
      process.env.PATH = path;
    }
  });
});
