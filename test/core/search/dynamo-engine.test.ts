/**
 * The DynamoDB engine against DynamoDB Local: read-your-writes, the scan limit refused with a
 * clear error (never a truncated page), and the GSI2 compartment path, multi-patient resources
 * included.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { FhirError } from '../../../core/errors.js';
import { createResource, searchResources, updateResource, type FhirContext } from '../../../core/fhir/interactions.js';
import { DynamoSearchEngine } from '../../../core/search/dynamo-engine.js';
import { createDocumentClient } from '../../../core/storage/dynamo-client.js';
import { ResourceRepository } from '../../../core/storage/repository.js';
import { parseTenantId } from '../../../core/tenant.js';

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
