/**
 * The DynamoDB engine's index scans against DynamoDB Local: a search is refused exactly when more
 * distinct resources than the limit match the access path, however many index keys each has, and
 * its answer is every live resource behind the keys. Also the pagination under them: every page
 * followed to the end, or only as many items as asked for.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Resource } from '@medplum/fhirtypes';
import { expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { IndexScans } from '../../../core/storage/index-scans.js';
import { queryPages } from '../../../core/storage/paginate.js';
import { ResourceRepository } from '../../../core/storage/repository.js';
import { parseTenantId } from '../../../core/tenant.js';

const config = loadConfig(process.env);
const client = createDocumentClient(config);
const repository = new ResourceRepository(client, config.tableName);
const scans = new IndexScans(repository);

function newTenant() {
  return parseTenantId(`scan-${randomUUID().slice(0, 8)}`);
}

async function put(tenant: ReturnType<typeof newTenant>, resource: Resource): Promise<void> {
  await repository.write({ tenant, resourceType: resource.resourceType, id: resource.id as string }, {}, () => ({ kind: 'write', method: 'PUT', resource }));
}

/** A patient whose identifier `value` is in `systems`: one lookup key per system, all in the partition of `value`. */
function patient(id: string, value: string, systems: readonly string[]): Resource {
  return { resourceType: 'Patient', id, identifier: systems.map((system) => ({ system, value })) } as Resource;
}

it('refuses a lookup only past the limit in distinct resources, however many keys each has', async () => {
  const tenant = newTenant();
  // Three patients, four keys in the partition of MRN-1: p-0 is there under two systems, and its
  // two keys come first (the scan reads sort keys `system#id` descending), so the first three keys are two resources.
  await put(tenant, patient('p-0', 'MRN-1', ['urn:y', 'urn:z']));
  await put(tenant, patient('p-1', 'MRN-1', ['urn:a']));
  await put(tenant, patient('p-2', 'MRN-1', ['urn:a']));
  await put(tenant, patient('other', 'MRN-2', ['urn:a']));

  const atLimit = await scans.scanLookups(tenant, 'Patient', 'identifier', [{ code: 'MRN-1' }], 3);
  expect(atLimit.truncated).toBe(false);
  expect(atLimit.items.map((version) => version.id).sort()).toEqual(['p-0', 'p-1', 'p-2']);

  const belowLimit = await scans.scanLookups(tenant, 'Patient', 'identifier', [{ code: 'MRN-1' }], 2);
  expect(belowLimit).toEqual({ items: [], truncated: true });

  const oneSystem = await scans.scanLookups(tenant, 'Patient', 'identifier', [{ system: 'urn:z', code: 'MRN-1' }], 1);
  expect(oneSystem.items.map((version) => version.id)).toEqual(['p-0']);
});

it('leaves deleted resources out of a type scan, and counts the limit across compartments', async () => {
  const tenant = newTenant();
  await put(tenant, { resourceType: 'Patient', id: 'kept' } as Resource);
  await put(tenant, { resourceType: 'Patient', id: 'gone' } as Resource);
  await repository.write({ tenant, resourceType: 'Patient', id: 'gone' }, {}, () => ({ kind: 'write', method: 'DELETE' }));
  expect((await scans.scanType(tenant, 'Patient', 10)).items.map((version) => version.id)).toEqual(['kept']);

  for (const subject of ['a', 'b']) {
    await put(tenant, { resourceType: 'Observation', id: `obs-${subject}`, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${subject}` } } as Resource);
  }
  expect((await scans.scanCompartments(tenant, ['a', 'b'], 'Observation', 2)).items).toHaveLength(2);
  expect((await scans.scanCompartments(tenant, ['a', 'b'], 'Observation', 1)).truncated).toBe(true);
});

it('follows every page to the end, or stops at the items asked for', async () => {
  const PK = `TEST#paginate#${randomUUID()}`;
  for (let i = 0; i < 5; i++) {
    await client.send(new PutCommand({ TableName: config.tableName, Item: { PK, SK: `ITEM#${i}` } }));
  }
  const query = { TableName: config.tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': PK } };
  const keys = async (pages: AsyncGenerator<{ Items?: Record<string, unknown>[] }>) => {
    const sizes: number[] = [];
    const sks: unknown[] = [];
    for await (const page of pages) {
      sizes.push(page.Items?.length ?? 0);
      sks.push(...(page.Items ?? []).map((item) => item.SK));
    }
    return { sizes, sks };
  };

  expect(await keys(queryPages(client, { ...query, Limit: 2 }))).toEqual({ sizes: [2, 2, 1], sks: ['ITEM#0', 'ITEM#1', 'ITEM#2', 'ITEM#3', 'ITEM#4'] });
  expect((await keys(queryPages(client, query, { limit: 3 }))).sks).toEqual(['ITEM#0', 'ITEM#1', 'ITEM#2']);
  expect((await keys(queryPages(client, query, { limit: () => 0 }))).sizes).toEqual([]);
});
