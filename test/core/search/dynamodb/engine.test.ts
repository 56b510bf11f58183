/**
 * The DynamoDB engine against DynamoDB Local: read-your-writes, the scan limit refused with a
 * clear error (never a truncated page), the GSI2 compartment path (multi-patient resources
 * included) and the GSI1 lookup path (stale and overflowing lookups included).
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../core/config.js';
import { FhirError } from '../../../../core/errors.js';
import { createResource, deleteResource, searchResources, updateResource, type FhirContext } from '../../../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../../../core/search/dynamodb/engine.js';
import { createDocumentClient } from '../../../../core/storage/dynamo-client.js';
import { gsi1LookupPartition } from '../../../../core/storage/keys.js';
import { ResourceRepository } from '../../../../core/storage/repository.js';
import { parseTenantId } from '../../../../core/tenant.js';

const config = loadConfig(process.env);
const repository = new ResourceRepository(createDocumentClient(config), config.tableName);

function contextWith(maxScan: number): FhirContext {
  return { repository, searchEngine: new DynamoSearchEngine(repository, maxScan), tenant: parseTenantId(`eng-${randomUUID().slice(0, 8)}`) };
}

async function ids(context: FhirContext, resourceType: string | undefined, parameters: Record<string, string[]>, compartment?: { resourceType: string; id: string }) {
  const { result } = await searchResources(context, { resourceType, compartment, parameters, strict: true, defaultCount: 100, maxCount: 1000 });
  return result.matches.map((resource) => `${resource.resourceType}/${resource.id}`).sort();
}

function observation(subject: string, extra: Record<string, unknown> = {}) {
  return { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: subject }, ...extra };
}

describe('read-your-writes', () => {
  it('finds a resource by a search parameter right after its create returns, and its new values right after an update', async () => {
    const context = contextWith(1000);
    const created = await createResource(context, 'Patient', { resourceType: 'Patient', name: [{ family: 'Immediate' }] });
    expect(await ids(context, 'Patient', { name: ['immed'] })).toEqual([`Patient/${created.id}`]);
    await updateResource(context, 'Patient', created.id, { resourceType: 'Patient', id: created.id, name: [{ family: 'Renamed' }] }, undefined);
    expect(await ids(context, 'Patient', { name: ['immed'] })).toEqual([]);
    expect(await ids(context, 'Patient', { name: ['renamed'] })).toEqual([`Patient/${created.id}`]);
  });
});

describe('the scan limit', () => {
  const context = contextWith(3);

  beforeAll(async () => {
    for (const subject of ['Patient/p1', 'Patient/p1', 'Patient/p2', 'Patient/p3', 'Patient/p4']) {
      await createResource(context, 'Observation', observation(subject));
    }
  });

  it('refuses a query that would read more resources of a type than the limit, saying how to narrow it', async () => {
    const refused = await ids(context, 'Observation', { status: ['final'] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FhirError);
    expect((refused as FhirError).status).toBe(400);
    expect((refused as FhirError).issues[0].code).toBe('too-costly');
    expect((refused as FhirError).message).toMatch(/more than 3 Observation.*patient.*OpenSearch/s);
  });

  it('answers the same kind of query through a patient, which reads only that patient\'s partition', async () => {
    expect(await ids(context, 'Observation', { status: ['final'], patient: ['Patient/p1'] })).toHaveLength(2);
    expect(await ids(context, 'Observation', { status: ['final'] }, { resourceType: 'Patient', id: 'p2' })).toHaveLength(1);
  });
});

describe('compartments on GSI2', () => {
  it('finds a resource in every patient compartment it belongs to, including through a second patient', async () => {
    const context = contextWith(1000);
    const shared = await createResource(context, 'Observation', observation('Patient/a', { performer: [{ reference: 'Patient/b' }] }));
    const own = await createResource(context, 'Observation', observation('Patient/a'));
    expect(await ids(context, 'Observation', {}, { resourceType: 'Patient', id: 'a' })).toEqual([`Observation/${shared.id}`, `Observation/${own.id}`].sort());
    expect(await ids(context, 'Observation', {}, { resourceType: 'Patient', id: 'b' })).toEqual([`Observation/${shared.id}`]);
    expect(await ids(context, 'Observation', { subject: ['Patient/a'] })).toEqual([`Observation/${shared.id}`, `Observation/${own.id}`].sort());
    expect(await ids(context, 'Observation', { performer: ['Patient/b'] })).toEqual([`Observation/${shared.id}`]);
  });

  it('moves a resource between compartments when its patient changes', async () => {
    const context = contextWith(1000);
    const moved = await createResource(context, 'Observation', observation('Patient/x'));
    await updateResource(context, 'Observation', moved.id, { ...observation('Patient/y'), id: moved.id }, undefined);
    expect(await ids(context, 'Observation', {}, { resourceType: 'Patient', id: 'x' })).toEqual([]);
    expect(await ids(context, 'Observation', {}, { resourceType: 'Patient', id: 'y' })).toEqual([`Observation/${moved.id}`]);
  });
});

describe('lookups on GSI1 (identifier, code)', () => {
  const client = createDocumentClient(config);

  async function lookupPartitionSize(context: FhirContext, resourceType: string, param: string, code: string): Promise<number> {
    const { Items = [] } = await client.send(
      new QueryCommand({
        TableName: config.tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': gsi1LookupPartition(context.tenant, resourceType, param, code) },
      }),
    );
    return Items.length;
  }

  function patient(identifiers: string[]) {
    return { resourceType: 'Patient', identifier: identifiers.map((value) => ({ system: 'urn:mrn', value })) };
  }

  it('finds resources by identifier and code through their lookup partitions, with or without a system', async () => {
    const context = contextWith(1000);
    const p = await createResource(context, 'Patient', patient(['A-1', 'A-2']));
    const o = await createResource(context, 'Observation', observation('Patient/q'));
    expect(await ids(context, 'Patient', { identifier: ['urn:mrn|A-2'] })).toEqual([`Patient/${p.id}`]);
    expect(await ids(context, 'Patient', { identifier: ['A-1'] })).toEqual([`Patient/${p.id}`]);
    expect(await ids(context, 'Patient', { identifier: ['urn:other|A-1'] })).toEqual([]);
    expect(await ids(context, 'Patient', { identifier: ['|A-1'] })).toEqual([]);
    expect(await ids(context, 'Observation', { code: ['http://loinc.org|8867-4'] })).toEqual([`Observation/${o.id}`]);
  });

  it('removes the lookup items a new version no longer has, and all of them on delete', async () => {
    const context = contextWith(1000);
    const p = await createResource(context, 'Patient', patient(['OLD-1']));
    expect(await lookupPartitionSize(context, 'Patient', 'identifier', 'OLD-1')).toBe(1);
    await updateResource(context, 'Patient', p.id, { ...patient(['NEW-1']), id: p.id }, undefined);
    expect(await lookupPartitionSize(context, 'Patient', 'identifier', 'OLD-1')).toBe(0);
    expect(await ids(context, 'Patient', { identifier: ['NEW-1'] })).toEqual([`Patient/${p.id}`]);
    await deleteResource(context, 'Patient', p.id, undefined);
    expect(await lookupPartitionSize(context, 'Patient', 'identifier', 'NEW-1')).toBe(0);
  });

  it('stays exact when an If-Match update (written without a read) leaves a stale lookup item', async () => {
    const context = contextWith(1000);
    const p = await createResource(context, 'Patient', patient(['STALE-1']));
    await updateResource(context, 'Patient', p.id, { ...patient(['FRESH-1']), id: p.id }, 1);
    expect(await ids(context, 'Patient', { identifier: ['STALE-1'] })).toEqual([]);
    expect(await ids(context, 'Patient', { identifier: ['FRESH-1'] })).toEqual([`Patient/${p.id}`]);
  });

  it('finds a resource with more identifiers than it gets lookup items, through the overflow partition', async () => {
    const context = contextWith(1000);
    const many = Array.from({ length: 45 }, (_, i) => `MANY-${i}`);
    const p = await createResource(context, 'Patient', patient(many));
    expect(await lookupPartitionSize(context, 'Patient', 'identifier', 'MANY-44')).toBe(0);
    expect(await ids(context, 'Patient', { identifier: ['urn:mrn|MANY-44'] })).toEqual([`Patient/${p.id}`]);
  });
});
