/** Starting and stopping DynamoDB Local, and the package cache it is fetched into. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { localDynamoDbClient, startDynamoDbLocal } from '../../scripts/local/dynamodb-local.js';
import { cachedPackage } from '../../scripts/local/package-cache.js';
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

describe('cachedPackage', () => {
  it('returns an unpacked package from the cache without fetching it again', async () => {
    const cache = join(scratch, 'cache');
    const unpacked = join(cache, 'packages', 'not-on-any-registry@1.0.0');
    await mkdir(unpacked, { recursive: true });
    await writeFile(join(unpacked, 'package.json'), '{}');
    const previous = process.env.FHIR_CACHE_DIR;
    process.env.FHIR_CACHE_DIR = cache;
    try {
      expect(await cachedPackage('not-on-any-registry', '1.0.0')).toBe(unpacked);
    } finally {
      process.env.FHIR_CACHE_DIR = previous;
    }
  });
});
