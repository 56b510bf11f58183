/**
 * Recovery: the index rebuilt from the table, by the core function and by `npm run reindex`,
 * equals the table — stale documents updated, documents of deleted resources removed, other
 * tenants untouched when one tenant is reindexed.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../../core/config.js';
import { openSearchClient } from '../../../../core/search/opensearch/client.js';
import { ResourceIndexer } from '../../../../core/search/opensearch/indexer.js';
import { ensureIndex } from '../../../../core/search/opensearch/mapping.js';
import { reindexTable } from '../../../../core/search/opensearch/reindex.js';
import { createDocumentClient } from '../../../../core/storage/dynamo-client.js';
import { ResourceRepository } from '../../../../core/storage/repository.js';
import { parseTenantId } from '../../../../core/tenant.js';
import { ensureLocalTable } from '../../../../scripts/local/table.js';
import { indexedVersions, tableVersions } from '../../../support/stream.js';

const run = promisify(execFile);
const suffix = randomUUID().slice(0, 8);
const tableName = `reindex-${suffix}`;
const index = `fhir-reindex-${suffix}`;
const env = { ...process.env, FHIR_TABLE_NAME: tableName, OPENSEARCH_URL: inject('openSearchUrl'), OPENSEARCH_INDEX: index };
const config = loadConfig(env);
const documents = createDocumentClient(config);
const repository = new ResourceRepository(documents, tableName);
const search = openSearchClient(config.openSearch!, config.region);
const indexer = new ResourceIndexer(search, index);
const tenant = parseTenantId(`reindex-${suffix}`);
const other = parseTenantId(`reindex-other-${suffix}`);

async function put(tenantId: typeof tenant, id: string, family: string) {
  return repository.write({ tenant: tenantId, resourceType: 'Patient', id }, {}, () => ({ kind: 'write', method: 'PUT', resource: { resourceType: 'Patient', id, name: [{ family }] } }));
}

beforeAll(async () => {
  await ensureLocalTable(process.env.DYNAMODB_ENDPOINT as string, tableName);
  await ensureIndex(search, index);
  for (let i = 0; i < 30; i++) {
    await put(tenant, `p${i}`, `Family${i}`);
  }
  // The index is behind: p0 holds version 1 there while the table has 2; p1 is still there after its deletion.
  const first = await repository.readCurrent({ tenant, resourceType: 'Patient', id: 'p0' });
  await indexer.apply([{ tenant, resourceType: 'Patient', id: 'p0', version: 1, resource: first!.resource }]);
  await indexer.apply([{ tenant, resourceType: 'Patient', id: 'p1', version: 1, resource: { resourceType: 'Patient', id: 'p1' } }]);
  await put(tenant, 'p0', 'Renamed');
  await repository.write({ tenant, resourceType: 'Patient', id: 'p1' }, {}, () => ({ kind: 'write', method: 'DELETE' }));
  await put(other, 'o1', 'Other');
}, 60_000);

describe('reindexTable', () => {
  it("makes one tenant's index equal its table, twice over, leaving other tenants alone", async () => {
    const summary = await reindexTable({ client: documents, tableName, indexer, tenant, segments: 4 });
    expect(summary).toMatchObject({ indexed: 29, deleted: 1, failed: 0 });
    expect(await indexedVersions(search, index, tenant)).toEqual(await tableVersions(documents, tableName, tenant));
    expect((await indexedVersions(search, index, tenant))['Patient/p0']).toBe(2);
    expect(await indexedVersions(search, index, other)).toEqual({});
    const again = await reindexTable({ client: documents, tableName, indexer, tenant, segments: 4 });
    expect(again).toMatchObject({ indexed: 29, deleted: 1, failed: 0 });
    expect(await indexedVersions(search, index, tenant)).toEqual(await tableVersions(documents, tableName, tenant));
  });
});

describe('npm run reindex', () => {
  it('rebuilds every tenant and says what it did', async () => {
    const { stdout } = await run('npx', ['tsx', 'scripts/reindex.ts', '--segments', '2'], { env });
    expect(stdout).toMatch(/Indexed 30 resources, applied 1 deletions, 0 failed/);
    expect(await indexedVersions(search, index, other)).toEqual(await tableVersions(documents, tableName, other));
    expect(await indexedVersions(search, index, tenant)).toEqual(await tableVersions(documents, tableName, tenant));
  });

  it('takes its table, DynamoDB Local and OpenSearch from flags, with no settings or credentials in the environment', async () => {
    const bare = Object.fromEntries(
      Object.entries(env).filter(([name]) => !['FHIR_TABLE_NAME', 'DYNAMODB_ENDPOINT', 'OPENSEARCH_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].includes(name)),
    );
    const third = parseTenantId(`reindex-third-${suffix}`);
    await put(third, 't1', 'Third');
    const flags = ['--table', tableName, '--endpoint', String(process.env.DYNAMODB_ENDPOINT), '--opensearch-url', String(env.OPENSEARCH_URL), '--tenant', third];
    const { stdout } = await run('npx', ['tsx', 'scripts/reindex.ts', ...flags], { env: bare });
    expect(stdout).toMatch(/Indexed 1 resources, applied 0 deletions, 0 failed/);
    expect(await indexedVersions(search, index, third)).toEqual({ 'Patient/t1': 1 });
  });

  it('says how to use it with --help', async () => {
    const { stdout } = await run('npx', ['tsx', 'scripts/reindex.ts', '--help'], { env });
    expect(stdout).toMatch(/--table NAME/);
    expect(stdout).toMatch(/running `npm start`/);
  });

  it('refuses to run without OPENSEARCH_URL', async () => {
    const failed = await run('npx', ['tsx', 'scripts/reindex.ts'], { env: { ...env, OPENSEARCH_URL: '' } }).catch((error) => error);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/No OpenSearch: pass --opensearch-url or set OPENSEARCH_URL/);
  });
});
