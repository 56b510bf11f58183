/** Starting and stopping DynamoDB Local (the package cache it is fetched into: package-cache.test.ts). */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { localDynamoDbClient, SHARED_DB_FILE, STREAM_RECORDS_INDEX, startDynamoDbLocal } from '../../scripts/local/dynamodb-local.js';
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

  it('looks up stream records through an index, on a kept database and a scratch one, and leaves no scratch database behind', async () => {
    const dataDir = join(scratch, 'indexed');
    const kept = await startDynamoDbLocal({ dataDir });
    try {
      await ensureLocalTable(kept.endpoint, 'streamed');
      // The lookup every request to a table with a stream makes (see dynamodb-local.ts).
      const database = new DatabaseSync(join(dataDir, SHARED_DB_FILE), { readOnly: true });
      try {
        const plan = database.prepare("EXPLAIN QUERY PLAN SELECT MIN(SequenceNumber) FROM us WHERE StreamID = 'any'").all();
        expect(plan.map((step) => String(step.detail)).join('\n')).toContain(`USING COVERING INDEX ${STREAM_RECORDS_INDEX}`);
      } finally {
        database.close();
      }
    } finally {
      await kept.stop();
    }

    const forgetful = await startDynamoDbLocal();
    expect(existsSync(join(forgetful.dataDir, SHARED_DB_FILE))).toBe(true);
    await forgetful.stop();
    expect(existsSync(forgetful.dataDir)).toBe(false);
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
