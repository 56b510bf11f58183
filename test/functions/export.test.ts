/**
 * Bulk Data $export end to end, as a client sees it on `npm start`: kick-off over HTTP (the local
 * server and the real handlers), the worker fed by the local SQS queue, NDJSON files in the local
 * S3 (fauxqs), downloaded through the manifest's presigned URLs with plain fetch. Every level,
 * `_type`, `_since`, `_typeFilter`, bad parameters, cancel, two tenants at once, and a large
 * export split into several files and chunks.
 */
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../scripts/local/credentials.js';
import { createLocalExportWorker, type LocalExportWorker } from '../../scripts/local/export-worker.js';
import { type LocalMessaging, startLocalMessaging } from '../../scripts/local/messaging.js';
import { type ApiResponse, useLocalApi } from '../support/local-api.js';

let messaging: LocalMessaging;
let worker: LocalExportWorker;

beforeAll(async () => {
  messaging = await startLocalMessaging();
  worker = await createLocalExportWorker(messaging, { bucket: `export-test-${randomUUID().slice(0, 8)}` });
  // Small files and chunks, so a few hundred resources already span several of each.
  Object.assign(process.env, messaging.env, worker.env, { FHIR_EXPORT_MAX_FILE_BYTES: '20000', FHIR_EXPORT_CHUNK_RESOURCES: '60' });
  worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await messaging?.stop();
});

const api = useLocalApi();
const ASYNC = { prefer: 'respond-async', accept: 'application/fhir+json' };

const tenantA = `exp-a-${randomUUID().slice(0, 8)}`;
const tenantB = `exp-b-${randomUUID().slice(0, 8)}`;

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

/** Kick-off, poll until complete, download every file: the resources by type, and the manifest. */
async function exportOf(tenant: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ manifest: Manifest; byType: Map<string, Resource[]> }> {
  const kickOff = await api.request(init.method ?? 'GET', path, { tenant, headers: ASYNC, body: init.body });
  expect(kickOff.status, kickOff.text).toBe(202);
  const statusUrl = kickOff.headers.get('content-location') as string;
  expect(statusUrl).toMatch(/\/_export\/[0-9a-f-]{36}$/);
  const manifest = (await pollUntilDone(tenant, statusUrl)).json as Manifest;
  const byType = new Map<string, Resource[]>();
  for (const file of manifest.output) {
    const response = await fetch(file.url);
    expect(response.status).toBe(200);
    const lines = (await response.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Resource);
    expect(lines).toHaveLength(file.count);
    expect(lines.every((resource) => resource.resourceType === file.type)).toBe(true);
    byType.set(file.type, [...(byType.get(file.type) ?? []), ...lines]);
  }
  return { manifest, byType };
}

async function pollUntilDone(tenant: string, statusUrl: string): Promise<ApiResponse> {
  const path = new URL(statusUrl).pathname;
  for (let attempt = 0; attempt < 600; attempt++) {
    const status = await api.request('GET', path, { tenant });
    if (status.status !== 202) {
      expect(status.status, status.text).toBe(200);
      return status;
    }
    expect(status.headers.get('x-progress')).toBeTruthy();
    expect(Number(status.headers.get('retry-after'))).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`export ${statusUrl} did not finish`);
}

async function transaction(tenant: string, resources: Resource[]): Promise<Resource[]> {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ fullUrl: `urn:uuid:${resource.id}`, resource: { ...resource, id: undefined }, request: { method: 'POST', url: resource.resourceType } })),
  };
  const response = await api.request('POST', '/', { tenant, body: bundle });
  expect(response.status, response.text).toBe(200);
  return (response.json as Bundle).entry!.map((entry) => entry.resource as Resource);
}

async function total(tenant: string, type: string, query = ''): Promise<number> {
  const response = await api.request('GET', `/${type}?_summary=count&_total=accurate${query}`, { tenant });
  expect(response.status, response.text).toBe(200);
  return response.json.total;
}

const ids = (resources: readonly Resource[] | undefined) => (resources ?? []).map((resource) => resource.id).sort();

/** Patients with Observations (code a or b) and Conditions, an Organization outside any compartment, and one deleted Observation. */
async function seed(tenant: string, patients: number, observationsEach: number): Promise<{ patients: Resource[]; observations: Resource[] }> {
  const organization: Resource = { resourceType: 'Organization', id: randomUUID(), name: `Org of ${tenant}` };
  const people: Resource[] = Array.from({ length: patients }, (_, index) => ({ resourceType: 'Patient', id: randomUUID(), name: [{ family: `P${index}` }] }));
  const clinical: Resource[] = people.flatMap((patient) => [
    ...Array.from({ length: observationsEach }, (_, index): Resource => ({
      resourceType: 'Observation',
      id: randomUUID(),
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: index % 2 === 0 ? '8867-4' : '8310-5' }] },
      subject: { reference: `urn:uuid:${patient.id}` },
      valueString: 'x'.repeat(200),
    })),
    { resourceType: 'Condition', id: randomUUID(), subject: { reference: `urn:uuid:${patient.id}` }, code: { text: 'c' } } as Resource,
  ]);
  const created = await transaction(tenant, [organization, ...people, ...clinical]);
  const doomed = created.find((resource) => resource.resourceType === 'Observation') as Resource;
  expect((await api.request('DELETE', `/Observation/${doomed.id}`, { tenant })).status).toBe(204);
  return {
    patients: created.filter((resource) => resource.resourceType === 'Patient'),
    observations: created.filter((resource) => resource.resourceType === 'Observation' && resource.id !== doomed.id),
  };
}

let seededA: Awaited<ReturnType<typeof seed>>;
let seededB: Awaited<ReturnType<typeof seed>>;

beforeAll(async () => {
  seededA = await seed(tenantA, 4, 40);
  seededB = await seed(tenantB, 2, 3);
}, 120_000);

describe('system-level $export', () => {
  it('exports every live resource of the tenant, current versions only, counts equal to each type\'s _total, split into several files', async () => {
    const { manifest, byType } = await exportOf(tenantA, '/$export');
    expect(manifest.requiresAccessToken).toBe(false);
    expect(manifest.error).toEqual([]);
    expect(manifest.request).toMatch(/\/\$export$/);
    expect(Date.parse(manifest.transactionTime)).toBeGreaterThan(0);
    expect([...byType.keys()].sort()).toEqual(['Condition', 'Observation', 'Organization', 'Patient']);
    for (const [type, resources] of byType) {
      expect(resources.length, type).toBe(await total(tenantA, type));
      expect(new Set(ids(resources)).size, `${type}: no duplicates`).toBe(resources.length);
    }
    expect(ids(byType.get('Observation'))).toEqual(ids(seededA.observations));
    // 159 Observations of ~500 bytes at 20 KB per file and 60 per chunk: several files.
    expect(manifest.output.filter((file) => file.type === 'Observation').length).toBeGreaterThan(3);
    const sample = byType.get('Observation')![7];
    const read = await api.request('GET', `/Observation/${sample.id}`, { tenant: tenantA });
    expect(read.json.meta.versionId).toBe(sample.meta?.versionId);
    // Nothing of the other tenant.
    const other = new Set([...ids(seededB.patients), ...ids(seededB.observations)]);
    expect([...byType.values()].flat().some((resource) => other.has(resource.id as string))).toBe(false);
  });

  it('_type limits the types; _typeFilter keeps only matching resources of its type', async () => {
    const { byType } = await exportOf(tenantA, `/$export?_type=Observation,Patient&_typeFilter=${encodeURIComponent('Observation?code=http://loinc.org|8867-4')}`);
    expect([...byType.keys()].sort()).toEqual(['Observation', 'Patient']);
    expect(byType.get('Patient')).toHaveLength(4);
    const matching = await total(tenantA, 'Observation', '&code=http://loinc.org|8867-4');
    expect(byType.get('Observation')).toHaveLength(matching);
    expect(byType.get('Observation')!.every((observation) => (observation as { code: { coding: { code: string }[] } }).code.coding[0].code === '8867-4')).toBe(true);
  });

  it('_since exports only what changed at or after it, and POST takes the parameters as Parameters', async () => {
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const [later] = await transaction(tenantA, [{ resourceType: 'Patient', id: randomUUID(), name: [{ family: 'Later' }] } as Resource]);
    const { byType } = await exportOf(tenantA, '/$export', {
      method: 'POST',
      body: { resourceType: 'Parameters', parameter: [{ name: '_since', valueInstant: since }, { name: '_type', valueString: 'Patient,Observation' }] },
    });
    expect([...byType.keys()]).toEqual(['Patient']);
    expect(ids(byType.get('Patient'))).toEqual([later.id]);
    expect((await api.request('DELETE', `/Patient/${later.id}`, { tenant: tenantA })).status).toBe(204);
  });
});

describe('Patient- and Group-level $export', () => {
  it('Patient/$export exports the patient compartments (no Organization)', async () => {
    const { byType } = await exportOf(tenantA, '/Patient/$export');
    expect([...byType.keys()].sort()).toEqual(['Condition', 'Observation', 'Patient']);
    expect(ids(byType.get('Patient'))).toEqual(ids(seededA.patients));
    expect(byType.get('Observation')).toHaveLength(seededA.observations.length);
  });

  it('Group/{id}/$export exports its member patients and their compartments only', async () => {
    const members = seededA.patients.slice(0, 2);
    const group = await api.request('POST', '/Group', {
      tenant: tenantA,
      body: { resourceType: 'Group', type: 'person', actual: true, member: members.map((patient) => ({ entity: { reference: `Patient/${patient.id}` } })) },
    });
    expect(group.status).toBe(201);
    const { byType } = await exportOf(tenantA, `/Group/${group.json.id}/$export`);
    expect(ids(byType.get('Patient'))).toEqual(ids(members));
    const memberRefs = new Set(members.map((patient) => `Patient/${patient.id}`));
    const observations = byType.get('Observation') ?? [];
    expect(observations.length).toBe(seededA.observations.filter((observation) => memberRefs.has((observation as { subject: { reference: string } }).subject.reference)).length);
    expect(observations.every((observation) => memberRefs.has((observation as { subject: { reference: string } }).subject.reference))).toBe(true);
    expect(byType.get('Condition')).toHaveLength(2);
    expect((await api.request('GET', '/Group/no-such-group/$export', { tenant: tenantA, headers: ASYNC })).status).toBe(404);
  });
});

describe('kick-off errors', () => {
  it.each([
    ['/$export?_type=NotAType', '_type'],
    ['/$export?_outputFormat=text/csv', '_outputFormat'],
    ['/$export?_since=yesterday', '_since'],
    ['/$export?_elements=id', '_elements'],
    ['/$export?_typeFilter=Patient%3Fgeneral-practitioner.name%3Dx', '_typeFilter'],
    ['/$export?_type=Patient&_typeFilter=Observation%3Fcode%3D1', '_typeFilter'],
    ['/Patient/$export?_type=Organization', '_type'],
  ])('%s is 400 with an OperationOutcome naming %s', async (path, parameter) => {
    const response = await api.request('GET', path, { tenant: tenantA, headers: ASYNC });
    expect(response.status, response.text).toBe(400);
    expect(response.json.resourceType).toBe('OperationOutcome');
    expect(response.json.issue[0].expression).toEqual([parameter]);
  });

  it('a kick-off without Prefer: respond-async is 400', async () => {
    const response = await api.request('GET', '/$export', { tenant: tenantA });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(/respond-async/);
  });
});

describe('status and cancel', () => {
  it('DELETE cancels: the status URL is then 404 and no file of the export is left', async () => {
    const kickOff = await api.request('GET', '/$export', { tenant: tenantA, headers: ASYNC });
    const path = new URL(kickOff.headers.get('content-location') as string).pathname;
    const exportId = path.split('/').pop() as string;
    // Let some files be written first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancel = await api.request('DELETE', path, { tenant: tenantA });
    expect(cancel.status).toBe(202);
    expect((await api.request('GET', path, { tenant: tenantA })).status).toBe(404);
    // A worker busy when the cancel came removes what it was writing itself.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const s3 = new S3Client({ endpoint: messaging.endpoint, region: messaging.region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: worker.bucket }));
    expect((listed.Contents ?? []).filter((object) => object.Key?.includes(`export=${exportId}/`))).toEqual([]);
    s3.destroy();
  });

  it('another tenant cannot see a tenant\'s export', async () => {
    const kickOff = await api.request('GET', '/$export?_type=Patient', { tenant: tenantA, headers: ASYNC });
    const statusUrl = kickOff.headers.get('content-location') as string;
    const path = new URL(statusUrl).pathname;
    expect((await api.request('GET', path, { tenant: tenantB })).status).toBe(404);
    expect((await api.request('DELETE', path, { tenant: tenantB })).status).toBe(404);
    expect((await pollUntilDone(tenantA, statusUrl)).status).toBe(200);
  });

  it('two tenants exporting at once each get exactly their own data', async () => {
    const [a, b] = await Promise.all([exportOf(tenantA, '/$export?_type=Patient,Observation'), exportOf(tenantB, '/$export?_type=Patient,Observation')]);
    expect(ids(a.byType.get('Patient'))).toEqual(ids(seededA.patients));
    expect(ids(b.byType.get('Patient'))).toEqual(ids(seededB.patients));
    expect(ids(a.byType.get('Observation'))).toEqual(ids(seededA.observations));
    expect(ids(b.byType.get('Observation'))).toEqual(ids(seededB.observations));
  });
});
