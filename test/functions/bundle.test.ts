/**
 * Batch and transaction Bundles at `POST /` (R4 http.html#transaction), through the local
 * server, the real handlers and DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { lookupItems } from '../../core/storage/index-keys.js';
import { parseTenantId } from '../../core/tenant.js';
import { SYNTHEA_DIR } from '../../scripts/load/synthea.js';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();
const SYSTEM = 'http://example.org/mrn';

function newTenant(): string {
  return `bndl-${randomUUID().slice(0, 8)}`;
}

const urn = () => `urn:uuid:${randomUUID()}`;

function transaction(entry: unknown[]) {
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

function batch(entry: unknown[]) {
  return { resourceType: 'Bundle', type: 'batch', entry };
}

function post(resource: Record<string, unknown>, fullUrl?: string, request: Record<string, unknown> = {}) {
  return { ...(fullUrl ? { fullUrl } : {}), resource, request: { method: 'POST', url: resource.resourceType, ...request } };
}

function patientWith(value: string, extra: Record<string, unknown> = {}) {
  return { resourceType: 'Patient', identifier: [{ system: SYSTEM, value }], ...extra };
}

/** A JSON Patch as a Bundle carries it: a Binary with the patch in base64 (R4). */
function jsonPatchBinary(operations: unknown[]) {
  return { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(operations)).toString('base64') };
}

async function send(bundle: unknown, tenant: string, headers: Record<string, string> = {}) {
  return api.request('POST', '/', { body: bundle, tenant, headers });
}

async function read(tenant: string, reference: string): Promise<any> {
  const response = await api.request('GET', `/${reference}`, { tenant });
  expect(response.status, reference).toBe(200);
  return response.json;
}

async function idsWith(tenant: string, value: string, type = 'Patient'): Promise<string[]> {
  const found = await api.request('GET', `/${type}?identifier=${encodeURIComponent(`${SYSTEM}|${value}`)}`, { tenant });
  return (found.json.entry ?? []).map((entry: any) => entry.resource.id).sort();
}

/** The `Type/id` a response entry's location names. */
function locationRef(entry: BundleEntry): string {
  const match = /\/([A-Za-z]+\/[^/]+)\/_history\/\d+$/.exec(entry.response?.location ?? '');
  expect(match, `location of ${JSON.stringify(entry.response)}`).not.toBeNull();
  return match![1];
}

/** Proof that a failed request left no trace: no version of any of these types in the tenant. */
async function expectNothingWritten(tenant: string, types: string[]): Promise<void> {
  for (const type of types) {
    const history = await api.request('GET', `/${type}/_history`, { tenant });
    expect([type, history.json.entry ?? []]).toEqual([type, []]);
  }
}

describe('batch', () => {
  const tenant = newTenant();

  it('runs every entry on its own: one failing entry fails only its own response entry', async () => {
    const existing = (await api.request('POST', '/Patient', { body: patientWith('b-1', { gender: 'female' }), tenant })).json;
    const patched = (await api.request('POST', '/Patient', { body: patientWith('b-4'), tenant })).json;
    const doomed = (await api.request('POST', '/Patient', { body: patientWith('b-2'), tenant })).json;
    const response = await send(
      batch([
        post(patientWith('b-3', { gender: 'male' })),
        { request: { method: 'GET', url: `Patient/${existing.id}` } },
        { request: { method: 'GET', url: `Patient?identifier=${SYSTEM}|b-1` } },
        { resource: { ...existing, gender: 'other' }, request: { method: 'PUT', url: `Patient/${existing.id}` } },
        post({ resourceType: 'Patient', gender: 'mail' }),
        { resource: jsonPatchBinary([{ op: 'add', path: '/active', value: true }]), request: { method: 'PATCH', url: `Patient/${patched.id}` } },
        { request: { method: 'DELETE', url: `Patient/${doomed.id}` } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ]),
      tenant,
    );
    expect(response.status).toBe(200);
    expect(response.json.resourceType).toBe('Bundle');
    expect(response.json.type).toBe('batch-response');
    const entries: BundleEntry[] = response.json.entry;
    expect(entries.map((entry) => entry.response?.status)).toEqual([
      '201 Created',
      '200 OK',
      '200 OK',
      '200 OK',
      '400 Bad Request',
      '200 OK',
      '204 No Content',
      '404 Not Found',
    ]);

    const created = entries[0];
    expect(created.resource).toMatchObject({ resourceType: 'Patient', gender: 'male', meta: { versionId: '1' } });
    expect(created.response).toMatchObject({ location: `${api.baseUrl}/Patient/${created.resource!.id}/_history/1`, etag: 'W/"1"', lastModified: created.resource!.meta!.lastUpdated });
    expect(entries[1].resource).toEqual(existing);
    expect(entries[1].response?.etag).toBe('W/"1"');
    expect((entries[2].resource as Bundle).type).toBe('searchset');
    expect((entries[2].resource as Bundle).entry?.map((entry) => entry.resource?.id)).toEqual([existing.id]);
    expect(entries[3].response?.etag).toBe('W/"2"');

    const failed = entries[4].response!.outcome!;
    expect(failed.resourceType).toBe('OperationOutcome');
    expect(failed.issue.flatMap((issue) => issue.expression ?? [])).toEqual(['Bundle.entry[4].resource.gender']);
    expect(failed.issue[0].diagnostics).toMatch(/^Bundle\.entry\[4\] \(POST Patient\)/);

    expect(entries[5].resource).toMatchObject({ id: patched.id, active: true, meta: { versionId: '2' } });
    expect(entries[6].response?.etag).toBe('W/"2"');
    expect(entries[7].response?.outcome?.issue[0].code).toBe('not-found');

    expect((await read(tenant, `Patient/${created.resource!.id}`)).gender).toBe('male');
    expect((await api.request('GET', `/Patient/${doomed.id}`, { tenant })).status).toBe(410);
  });

  it('runs the conditional forms and resolves conditional references, each entry on its own', async () => {
    const value = `bc-${randomUUID()}`;
    const existing = (await api.request('POST', '/Patient', { body: patientWith(value), tenant })).json;
    const twinValue = `twin-${randomUUID()}`;
    await api.request('POST', '/Patient', { body: patientWith(twinValue), tenant });
    await api.request('POST', '/Patient', { body: patientWith(twinValue), tenant });
    const response = await send(
      batch([
        post(patientWith(value), undefined, { ifNoneExist: `identifier=${SYSTEM}|${value}` }),
        post(patientWith(twinValue), undefined, { ifNoneExist: `identifier=${SYSTEM}|${twinValue}` }),
        post({ resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { reference: `Patient?identifier=${SYSTEM}|${value}` } }),
        post({ resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { reference: `Patient?identifier=${SYSTEM}|${twinValue}` } }),
        { resource: patientWith(value, { gender: 'female' }), request: { method: 'PUT', url: `Patient?identifier=${SYSTEM}|${value}` } },
        { request: { method: 'DELETE', url: `Patient?identifier=${SYSTEM}|${twinValue}` } },
        { resource: { resourceType: 'Parameters', parameter: [] }, request: { method: 'PATCH', url: `Patient/${existing.id}` } },
      ]),
      tenant,
    );
    const entries: BundleEntry[] = response.json.entry;
    expect(entries.map((entry) => entry.response?.status)).toEqual(['200 OK', '412 Precondition Failed', '201 Created', '400 Bad Request', '200 OK', '412 Precondition Failed', '400 Bad Request']);
    expect(entries[0].resource?.id).toBe(existing.id);
    expect((entries[2].resource as any).subject.reference).toBe(`Patient/${existing.id}`);
    expect(entries[3].response?.outcome?.issue[0]).toMatchObject({ expression: ['Bundle.entry[3].resource.subject.reference'], diagnostics: expect.stringMatching(/more than one/) });
    expect(entries[4].resource).toMatchObject({ id: existing.id, gender: 'female' });
    expect(entries[6].response?.outcome?.issue[0]).toMatchObject({ code: 'not-supported', diagnostics: expect.stringMatching(/FHIRPath Patch is not supported/) });
    expect(await idsWith(tenant, twinValue)).toHaveLength(2);
  });

  it('refuses, per entry, a reference to another entry: batch entries are independent', async () => {
    const patientUrl = urn();
    const response = await send(
      batch([post(patientWith('indep'), patientUrl), post({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: patientUrl } })]),
      tenant,
    );
    expect(response.json.entry.map((entry: BundleEntry) => entry.response?.status)).toEqual(['201 Created', '400 Bad Request']);
    expect(response.json.entry[1].response.outcome.issue[0].expression).toEqual(['Bundle.entry[1].resource.subject.reference']);
  });

  it('reports malformed entries in their own response entry', async () => {
    const response = await send(batch([{ resource: patientWith('x') }, { request: { method: 'HEAD', url: 'Patient' } }, post(patientWith('fine'))]), tenant);
    expect(response.status).toBe(200);
    const entries: BundleEntry[] = response.json.entry;
    expect(entries.map((entry) => entry.response?.status)).toEqual(['400 Bad Request', '400 Bad Request', '201 Created']);
    expect(entries[0].response?.outcome?.issue[0].expression).toEqual(['Bundle.entry[0].request']);
    expect(entries[1].response?.outcome?.issue[0].expression).toEqual(['Bundle.entry[1].request.method']);
  });
});

describe('transaction', () => {
  it('creates every entry, rewrites urn:uuid and urn:oid references everywhere, keeps PUT ids', async () => {
    const tenant = newTenant();
    const patientUrl = urn();
    const orgUrl = urn();
    const oidUrl = 'urn:oid:1.2.36.1.4.1.99.7';
    const putUrl = urn();
    const putId = `put-${randomUUID()}`;
    const bundle = transaction([
      {
        fullUrl: patientUrl,
        resource: {
          resourceType: 'Patient',
          text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">Cared for by <a href="${orgUrl}">the clinic</a></div>` },
          identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.3.25', value: 'untouched' }],
          managingOrganization: { reference: orgUrl },
          generalPractitioner: [{ reference: oidUrl }],
          extension: [{ url: 'http://example.org/fhir/StructureDefinition/pharmacy', valueReference: { reference: orgUrl } }],
        },
        request: { method: 'POST', url: 'Patient' },
      },
      post({ resourceType: 'Organization', name: 'Clinic' }, orgUrl),
      post({ resourceType: 'Organization', name: 'By OID' }, oidUrl),
      { fullUrl: putUrl, resource: { resourceType: 'Patient', id: putId, link: [{ other: { reference: patientUrl }, type: 'seealso' }] }, request: { method: 'PUT', url: `Patient/${putId}` } },
      post({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'specimen weight' },
        subject: { reference: patientUrl },
        focus: [{ reference: putUrl }],
        performer: [{ reference: orgUrl }],
        specimen: { reference: '#s1' },
        contained: [{ resourceType: 'Specimen', id: 's1', subject: { reference: patientUrl } }],
      }),
    ]);
    const response = await send(bundle, tenant);
    expect(response.status).toBe(200);
    expect(response.json.type).toBe('transaction-response');
    const entries: BundleEntry[] = response.json.entry;
    expect(entries.map((entry) => entry.response?.status)).toEqual(['201 Created', '201 Created', '201 Created', '201 Created', '201 Created']);
    for (const entry of entries) {
      expect(entry.response).toMatchObject({ etag: 'W/"1"', lastModified: entry.resource!.meta!.lastUpdated });
    }
    const [patientRef, orgRef, oidRef, putRef, observationRef] = entries.map(locationRef);
    expect(putRef).toBe(`Patient/${putId}`);

    const patient = await read(tenant, patientRef);
    expect(patient.managingOrganization.reference).toBe(orgRef);
    expect(patient.generalPractitioner[0].reference).toBe(oidRef);
    expect(patient.extension[0].valueReference.reference).toBe(orgRef);
    expect(patient.text.div).toContain(`<a href="${orgRef}">`);
    expect(patient.identifier[0].system).toBe('urn:oid:2.16.840.1.113883.4.3.25');
    expect((await read(tenant, putRef)).link[0].other.reference).toBe(patientRef);
    const observation = await read(tenant, observationRef);
    expect(observation).toMatchObject({
      subject: { reference: patientRef },
      focus: [{ reference: putRef }],
      performer: [{ reference: orgRef }],
      specimen: { reference: '#s1' },
      contained: [{ subject: { reference: patientRef } }],
    });
    expect(JSON.stringify([patient, observation])).not.toMatch(/urn:uuid/);
  });

  it('processes DELETE before POST and reads GET entries after the writes', async () => {
    const tenant = newTenant();
    const value = `order-${randomUUID()}`;
    const old = (await api.request('POST', '/Patient', { body: patientWith(value), tenant })).json;
    const response = await send(
      transaction([
        { request: { method: 'GET', url: `Patient?identifier=${SYSTEM}|${value}` } },
        post(patientWith(value, { gender: 'male' }), urn(), { ifNoneExist: `identifier=${SYSTEM}|${value}` }),
        { request: { method: 'DELETE', url: `Patient?identifier=${SYSTEM}|${value}` } },
      ]),
      tenant,
    );
    expect(response.status).toBe(200);
    const entries: BundleEntry[] = response.json.entry;
    expect(entries.map((entry) => entry.response?.status)).toEqual(['200 OK', '201 Created', '204 No Content']);
    const createdId = entries[1].resource!.id;
    expect(createdId).not.toBe(old.id);
    expect((entries[0].resource as Bundle).entry?.map((entry) => entry.resource?.id)).toEqual([createdId]);
    expect(entries[2].response?.etag).toBe('W/"2"');
    expect((await api.request('GET', `/Patient/${old.id}`, { tenant })).status).toBe(410);
  });

  it('conditional create: a match is used as it is (200) and references to its fullUrl point at it', async () => {
    const tenant = newTenant();
    const value = `cc-${randomUUID()}`;
    const existing = (await api.request('POST', '/Patient', { body: patientWith(value), tenant })).json;
    const patientUrl = urn();
    const response = await send(
      transaction([
        post(patientWith(value, { gender: 'female' }), patientUrl, { ifNoneExist: `identifier=${SYSTEM}|${value}` }),
        post({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: patientUrl } }),
      ]),
      tenant,
    );
    const entries: BundleEntry[] = response.json.entry;
    expect(entries.map((entry) => entry.response?.status)).toEqual(['200 OK', '201 Created']);
    expect(entries[0].resource).toEqual(existing);
    // As over HTTP (R4 http.html#ccreate): 200, the match's ETag, and no Location, which only a creation has.
    expect(entries[0].response).toEqual({ status: '200 OK', etag: 'W/"1"', lastModified: existing.meta.lastUpdated });
    expect((await read(tenant, locationRef(entries[1]))).subject.reference).toBe(`Patient/${existing.id}`);
    expect((await api.request('GET', `/Patient/${existing.id}/_history`, { tenant })).json.entry).toHaveLength(1);
  });

  it('conditional update and delete: none, one, several', async () => {
    const tenant = newTenant();
    const [none, one, many, gone, goneMany] = Array.from({ length: 5 }, () => `cu-${randomUUID()}`);
    const single = (await api.request('POST', '/Patient', { body: patientWith(one), tenant })).json;
    const doomed = (await api.request('POST', '/Patient', { body: patientWith(gone), tenant })).json;
    for (const value of [many, many, goneMany, goneMany]) {
      await api.request('POST', '/Patient', { body: patientWith(value), tenant });
    }
    const put = (value: string, extra = {}) => ({ resource: patientWith(value, extra), request: { method: 'PUT', url: `Patient?identifier=${SYSTEM}|${value}` } });
    const del = (value: string) => ({ request: { method: 'DELETE', url: `Patient?identifier=${SYSTEM}|${value}` } });

    const ok = await send(transaction([put(none), put(one, { gender: 'male' }), del(gone), del(`nothing-${randomUUID()}`)]), tenant);
    expect(ok.status).toBe(200);
    expect(ok.json.entry.map((entry: BundleEntry) => entry.response?.status)).toEqual(['201 Created', '200 OK', '204 No Content', '204 No Content']);
    expect(await idsWith(tenant, none)).toEqual([ok.json.entry[0].resource.id]);
    expect(await read(tenant, `Patient/${single.id}`)).toMatchObject({ gender: 'male', meta: { versionId: '2' } });
    expect((await api.request('GET', `/Patient/${doomed.id}`, { tenant })).status).toBe(410);

    for (const [entry, interaction] of [
      [put(many), 'Conditional update'],
      [del(goneMany), 'Conditional delete'],
    ] as const) {
      const failed = await send(transaction([post(patientWith(`bystander-${randomUUID()}`)), entry]), tenant);
      expect(failed.status).toBe(412);
      expect(failed.json.issue[0]).toMatchObject({ expression: ['Bundle.entry[1]'], diagnostics: expect.stringContaining(interaction) });
    }
    expect(await idsWith(tenant, many)).toHaveLength(2);
    expect(await idsWith(tenant, goneMany)).toHaveLength(2);
  });

  it('conditional create with several matches fails the whole transaction with 412', async () => {
    const tenant = newTenant();
    const value = `ccm-${randomUUID()}`;
    await api.request('POST', '/Patient', { body: patientWith(value), tenant });
    await api.request('POST', '/Patient', { body: patientWith(value), tenant });
    const response = await send(transaction([post({ resourceType: 'Organization', name: 'Bystander' }), post(patientWith(value), undefined, { ifNoneExist: `identifier=${SYSTEM}|${value}` })]), tenant);
    expect(response.status).toBe(412);
    expect(response.json.issue[0].expression).toEqual(['Bundle.entry[1]']);
    await expectNothingWritten(tenant, ['Organization']);
  });

  it('resolves conditional references to stored resources and to resources created in the same transaction', async () => {
    const tenant = newTenant();
    const stored = (await api.request('POST', '/Patient', { body: patientWith('stored-1'), tenant })).json;
    const response = await send(
      transaction([
        post({ resourceType: 'PractitionerRole', practitioner: { reference: `Practitioner?identifier=${SYSTEM}|npi-1` } }),
        post({ resourceType: 'Practitioner', identifier: [{ system: SYSTEM, value: 'npi-1' }] }),
        post({
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'x' },
          subject: { reference: `Patient?identifier=${SYSTEM}|stored-1` },
          performer: [{ reference: `Practitioner?identifier=${SYSTEM}|npi-1` }],
        }),
      ]),
      tenant,
    );
    expect(response.status).toBe(200);
    const [roleRef, practitionerRef, observationRef] = response.json.entry.map(locationRef);
    expect((await read(tenant, roleRef)).practitioner.reference).toBe(practitionerRef);
    expect(await read(tenant, observationRef)).toMatchObject({ subject: { reference: `Patient/${stored.id}` }, performer: [{ reference: practitionerRef }] });
  });

  it('applies a JSON Patch entry, honouring its ifMatch', async () => {
    const tenant = newTenant();
    const existing = (await api.request('POST', '/Patient', { body: patientWith('patch-1'), tenant })).json;
    const patch = (ifMatch: string) => ({ resource: jsonPatchBinary([{ op: 'add', path: '/gender', value: 'female' }]), request: { method: 'PATCH', url: `Patient/${existing.id}`, ifMatch } });
    const stale = await send(transaction([patch('W/"9"')]), tenant);
    expect(stale.status).toBe(412);
    expect(stale.json.issue[0].expression).toEqual(['Bundle.entry[0]']);
    const applied = await send(transaction([patch('W/"1"')]), tenant);
    expect(applied.json.entry[0]).toMatchObject({ resource: { gender: 'female', meta: { versionId: '2' } }, response: { status: '200 OK', etag: 'W/"2"' } });
  });

  it('writes nothing when any entry fails, and names the entry and the element', async () => {
    const tenant = newTenant();
    const existing = (await api.request('POST', '/Organization', { body: { resourceType: 'Organization', name: 'Before' }, tenant })).json;
    const response = await send(
      transaction([
        post(patientWith('atomic-1')),
        { resource: { ...existing, name: 'After' }, request: { method: 'PUT', url: `Organization/${existing.id}` } },
        post({ resourceType: 'Patient', gender: 'mail' }),
      ]),
      tenant,
    );
    expect(response.status).toBe(400);
    expect(response.json.issue[0]).toMatchObject({ expression: ['Bundle.entry[2].resource.gender'], diagnostics: expect.stringMatching(/^Bundle\.entry\[2\] \(POST Patient\)/) });
    await expectNothingWritten(tenant, ['Patient']);
    expect((await read(tenant, `Organization/${existing.id}`)).name).toBe('Before');
  });

  it('a GET that fails after the commit answers in its own entry; the writes stand', async () => {
    const tenant = newTenant();
    const response = await send(transaction([post(patientWith('after-1')), { request: { method: 'GET', url: 'Patient/not-there' } }]), tenant);
    expect(response.status).toBe(200);
    expect(response.json.entry.map((entry: BundleEntry) => entry.response?.status)).toEqual(['201 Created', '404 Not Found']);
    expect(response.json.entry[1].response.outcome.issue[0].expression).toEqual(['Bundle.entry[1]']);
    expect(await idsWith(tenant, 'after-1')).toHaveLength(1);
  });

  it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    const tenant = newTenant();
    const minimal = await send(transaction([post(patientWith('pref-1'))]), tenant, { prefer: 'return=minimal' });
    expect(minimal.json.entry[0].resource).toBeUndefined();
    expect(minimal.json.entry[0].response).toMatchObject({ status: '201 Created', etag: 'W/"1"', location: expect.stringContaining('/Patient/') });
    const outcome = await send(transaction([post(patientWith('pref-2'))]), tenant, { prefer: 'return=OperationOutcome' });
    expect(outcome.json.entry[0].response.outcome.issue[0].severity).toBe('information');
  });

  it('answers an empty transaction with an empty transaction-response', async () => {
    const response = await send(transaction([]), newTenant());
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ resourceType: 'Bundle', type: 'transaction-response', entry: [] });
  });
});

describe('bad Bundles: 400 (or 413) pointing at the entry, nothing written', () => {
  const patientUrl = urn();
  const observation = (reference: string) => post({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference } });
  const cases: { name: string; body: unknown; status?: number; expression: string; says: RegExp }[] = [
    { name: 'not a Bundle', body: { resourceType: 'Patient' }, expression: 'resourceType', says: /Bundle of type batch or transaction/ },
    { name: 'a Bundle without a type', body: { resourceType: 'Bundle', entry: [] }, expression: 'Bundle.type', says: /no type/ },
    { name: 'a collection Bundle', body: { resourceType: 'Bundle', type: 'collection', entry: [] }, expression: 'Bundle.type', says: /collection/ },
    { name: 'an entry without request', body: transaction([post(patientWith('a')), { resource: patientWith('b') }]), expression: 'Bundle.entry[1].request', says: /no request/ },
    { name: 'an unknown method', body: transaction([{ resource: patientWith('a'), request: { method: 'FETCH', url: 'Patient' } }]), expression: 'Bundle.entry[0].request.method', says: /FETCH/ },
    { name: 'HEAD (not supported)', body: transaction([{ request: { method: 'HEAD', url: 'Patient/1' } }]), expression: 'Bundle.entry[0].request.method', says: /HEAD/ },
    { name: 'no url', body: transaction([{ resource: patientWith('a'), request: { method: 'POST' } }]), expression: 'Bundle.entry[0].request.url', says: /url is required/ },
    { name: 'an absolute url', body: transaction([{ resource: patientWith('a'), request: { method: 'POST', url: 'http://other.example/fhir/Patient' } }]), expression: 'Bundle.entry[0].request.url', says: /relative/ },
    { name: 'an unknown type in the url', body: transaction([{ resource: patientWith('a'), request: { method: 'POST', url: 'Patientx' } }]), status: 404, expression: 'Bundle.entry[0].request.url', says: /unknown resource type/ },
    { name: 'a POST to an instance url', body: transaction([{ resource: patientWith('a'), request: { method: 'POST', url: 'Patient/1' } }]), expression: 'Bundle.entry[0].request.url', says: /method not allowed/ },
    { name: 'an invalid id in the url', body: transaction([{ request: { method: 'DELETE', url: 'Patient/a b' } }]), expression: 'Bundle.entry[0].request.url', says: /invalid id/ },
    { name: 'a malformed search in a GET entry', body: transaction([post(patientWith('a')), { request: { method: 'GET', url: 'Patient?birthdate=someday' } }]), expression: 'Bundle.entry[1].request.url', says: /someday/ },
    { name: 'a referenced fullUrl no entry defines', body: transaction([post(patientWith('a'), patientUrl), observation(urn())]), expression: 'Bundle.entry[1].resource.subject.reference', says: /no entry's fullUrl/ },
    { name: 'duplicate fullUrls', body: transaction([post(patientWith('a'), patientUrl), post(patientWith('b'), patientUrl)]), expression: 'Bundle.entry[1].fullUrl', says: /also the fullUrl of Bundle.entry\[0\]/ },
    {
      name: 'two entries writing the same resource',
      body: transaction([
        { resource: { resourceType: 'Patient', id: 'same' }, request: { method: 'PUT', url: 'Patient/same' } },
        { resource: { resourceType: 'Patient', id: 'same', gender: 'male' }, request: { method: 'PUT', url: 'Patient/same' } },
      ]),
      expression: 'Bundle.entry[1]',
      says: /both write Patient\/same/,
    },
    { name: 'a conditional reference matching nothing', body: transaction([post(patientWith('a')), observation(`Patient?identifier=${SYSTEM}|nobody`)]), expression: 'Bundle.entry[1].resource.subject.reference', says: /matches no resource/ },
    { name: 'a conditional reference with an unknown parameter', body: transaction([observation('Patient?nickname=pete')]), expression: 'Bundle.entry[0].resource.subject.reference', says: /nickname/ },
    { name: 'a PUT without a resource', body: transaction([{ request: { method: 'PUT', url: 'Patient/p1' } }]), expression: 'Bundle.entry[0].resource', says: /needs a resource/ },
    { name: 'a PUT whose id differs from its url', body: transaction([{ resource: { resourceType: 'Patient', id: 'p2' }, request: { method: 'PUT', url: 'Patient/p1' } }]), expression: 'Bundle.entry[0].resource.id', says: /does not match/ },
    { name: 'a body type that differs from the url', body: transaction([{ resource: { resourceType: 'Organization' }, request: { method: 'POST', url: 'Patient' } }]), expression: 'Bundle.entry[0].resource.resourceType', says: /does not match/ },
    { name: 'ifNoneExist on a PUT', body: transaction([{ resource: { resourceType: 'Patient', id: 'p1' }, request: { method: 'PUT', url: 'Patient/p1', ifNoneExist: 'identifier=x' } }]), expression: 'Bundle.entry[0].request.ifNoneExist', says: /POST entries only/ },
    { name: 'a malformed ifMatch', body: transaction([{ resource: { resourceType: 'Patient', id: 'p1' }, request: { method: 'PUT', url: 'Patient/p1', ifMatch: 'yesterday' } }]), expression: 'Bundle.entry[0].request.ifMatch', says: /ETag/ },
    { name: 'a conditional url without criteria', body: transaction([{ request: { method: 'DELETE', url: 'Patient?' } }]), expression: 'Bundle.entry[0].request.url', says: /needs search criteria/ },
    { name: 'a patch that is not a Binary', body: transaction([{ resource: patientWith('a'), request: { method: 'PATCH', url: 'Patient/p1' } }]), expression: 'Bundle.entry[0].resource', says: /Binary/ },
    {
      name: 'more entries than the limit',
      body: transaction(Array.from({ length: 1001 }, () => post(patientWith('many')))),
      status: 413,
      expression: '',
      says: /1001 entries; the limit is 1000/,
    },
  ];

  it.each(cases)('$name', async ({ body, status = 400, expression, says }) => {
    const tenant = newTenant();
    const response = await send(body, tenant);
    expect(response.status).toBe(status);
    expect(response.json.resourceType).toBe('OperationOutcome');
    const [issue] = response.json.issue;
    expect(issue.severity).toBe('error');
    expect(issue.diagnostics).toMatch(says);
    if (expression) {
      expect(issue.expression).toEqual([expression]);
    }
    await expectNothingWritten(tenant, ['Patient', 'Observation']);
  });

  it('a conditional reference matching several resources fails the transaction', async () => {
    const tenant = newTenant();
    await api.request('POST', '/Patient', { body: patientWith('twin'), tenant });
    await api.request('POST', '/Patient', { body: patientWith('twin'), tenant });
    const response = await send(transaction([observation(`Patient?identifier=${SYSTEM}|twin`)]), tenant);
    expect(response.status).toBe(400);
    expect(response.json.issue[0]).toMatchObject({ expression: ['Bundle.entry[0].resource.subject.reference'], diagnostics: expect.stringMatching(/more than one/) });
    await expectNothingWritten(tenant, ['Observation']);
  });
});

describe('concurrent transactions on the same resources', () => {
  it('each one commits entirely or not at all: history holds exactly the winners, gapless', async () => {
    const tenant = newTenant();
    const ids = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    await send(transaction(ids.map((id) => ({ resource: { resourceType: 'Patient', id }, request: { method: 'PUT', url: `Patient/${id}` } }))), tenant);
    const PARALLEL = 10;
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, writer) =>
        send(transaction(ids.map((id) => ({ resource: { resourceType: 'Patient', id, name: [{ family: `Writer${writer}` }] }, request: { method: 'PUT', url: `Patient/${id}` } }))), tenant),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 200 || status === 409)).toBe(true);
    const winners = responses.flatMap((response, writer) => (response.status === 200 ? [`Writer${writer}`] : []));
    expect(winners.length).toBeGreaterThanOrEqual(1);
    for (const response of responses.filter((r) => r.status === 409)) {
      expect(response.json.issue[0].code).toBe('conflict');
    }

    for (const id of ids) {
      const history = (await api.request('GET', `/Patient/${id}/_history?_count=100`, { tenant })).json.entry as BundleEntry[];
      expect(history.map((entry) => entry.response?.etag)).toEqual(Array.from({ length: winners.length + 1 }, (_, i) => `W/"${winners.length + 1 - i}"`));
      const writers = history.flatMap((entry) => ((entry.resource as any).name ?? []).map((name: any) => name.family));
      expect(writers.sort()).toEqual([...winners].sort());
    }
    // Both resources were written by the same transactions in the same order.
    const newest = await Promise.all(ids.map((id) => read(tenant, `Patient/${id}`)));
    expect(newest[0].name).toEqual(newest[1].name);
  });
});

describe('Synthea transaction Bundles', () => {
  /** Items a resource's write costs in a TransactWriteItems: CURRENT + VERSION + its lookup items. */
  const itemsOf = (resource: Resource, tenant: string) => 2 + lookupItems(parseTenantId(tenant), resource).items.length;

  /**
   * The first entries of a Synthea Bundle (the Patient first) within `maxItems`, keeping only
   * entries whose urn:uuid references stay inside the slice.
   */
  function slice(bundle: Bundle, tenant: string, maxItems: number): BundleEntry[] {
    const kept: BundleEntry[] = [];
    const urls = new Set<string>();
    let items = 0;
    for (const entry of bundle.entry ?? []) {
      const references = [...JSON.stringify(entry.resource).matchAll(/"reference":"(urn:uuid:[^"]+)"/g)].map((match) => match[1]);
      const cost = itemsOf(entry.resource!, tenant);
      if (references.every((reference) => urls.has(reference)) && items + cost <= maxItems) {
        kept.push(entry);
        urls.add(entry.fullUrl!);
        items += cost;
      }
    }
    return kept;
  }

  async function syntheaBundle(name: string): Promise<Bundle> {
    return JSON.parse(await readFile(join(SYNTHEA_DIR, name), 'utf8')) as Bundle;
  }

  /** Posts the entries as one transaction and checks every resource is stored as sent, its references rewritten to real ids. */
  async function expectLoaded(source: Bundle, entries: BundleEntry[], tenant: string): Promise<void> {
    const response = await send({ ...source, entry: entries }, tenant);
    expect(response.status).toBe(200);
    const results: BundleEntry[] = response.json.entry;
    expect(results.map((entry) => entry.response?.status)).toEqual(entries.map(() => '201 Created'));
    const idOf = new Map(entries.map((entry, i) => [entry.fullUrl!, locationRef(results[i])]));
    for (const [i, entry] of entries.entries()) {
      const stored = await read(tenant, locationRef(results[i]));
      const expected = JSON.parse(JSON.stringify(entry.resource).replace(/"(urn:uuid:[^"]+)"/g, (text, url: string) => (idOf.has(url) ? `"${idOf.get(url)}"` : text)));
      // The server assigns id and meta; everything else is the entry's content, references rewritten.
      const { id, meta, ...content } = stored;
      const { id: _sourceId, meta: _sourceMeta, ...expectedContent } = expected;
      expect(content).toEqual(expectedContent);
      expect(`${stored.resourceType}/${id}`).toBe(locationRef(results[i]));
      expect(meta.versionId).toBe('1');
      expect(JSON.stringify(content)).not.toMatch(/"reference":"urn:uuid:/);
    }
  }

  it('loads a Synthea patient slice that fits one DynamoDB TransactWriteItems (≤ 100 items)', async () => {
    const tenant = newTenant();
    const source = await syntheaBundle('Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json');
    const entries = slice(source, tenant, 90);
    expect(entries.length).toBeGreaterThanOrEqual(10);
    expect(entries[0].resource?.resourceType).toBe('Patient');
    await expectLoaded(source, entries, tenant);
  });

  // Beyond DynamoDB's 100 items per TransactWriteItems, the repository's staged commit protocol
  // keeps the transaction atomic (before it, this answered 413).
  it('loads a whole Synthea patient above the 100-item DynamoDB transaction limit as one transaction', async () => {
    const tenant = newTenant();
    const source = await syntheaBundle('Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json');
    const items = (source.entry ?? []).reduce((sum, entry) => sum + itemsOf(entry.resource!, tenant), 0);
    expect(items).toBeGreaterThan(100);
    await expectLoaded(source, source.entry ?? [], tenant);
  });
});
