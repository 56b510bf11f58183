/** GET /metadata tells the truth, and $validate answers OperationOutcomes with precise paths. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();
const tenant = `meta-${randomUUID().slice(0, 8)}`;

describe('GET /metadata', () => {
  it('is a CapabilityStatement for FHIR 4.0.1 in JSON, served without a tenant', async () => {
    const response = await api.request('GET', '/metadata');
    expect(response.status).toBe(200);
    expect(response.json.resourceType).toBe('CapabilityStatement');
    expect(response.json.fhirVersion).toBe('4.0.1');
    expect(response.json.format).toEqual(['application/fhir+json', 'json']);
    expect(response.json.patchFormat).toEqual(['application/json-patch+json']);
    expect(response.json.kind).toBe('instance');
  });

  it('lists every R4 resource type; at system level transaction, batch and search; conditional create, update and single delete', async () => {
    const rest = (await api.request('GET', '/metadata')).json.rest[0];
    const types = rest.resource.map((r: any) => r.type);
    expect(types).toHaveLength(146);
    expect(types).toEqual(expect.arrayContaining(['Patient', 'Observation', 'Bundle', 'Binary', 'Parameters', 'OperationOutcome']));
    expect(rest.interaction).toEqual([{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }]);
    for (const resource of rest.resource) {
      expect(resource.conditionalCreate).toBe(true);
      expect(resource.conditionalUpdate).toBe(true);
      expect(resource.conditionalDelete).toBe('single');
      expect(resource.conditionalRead).toBe('not-supported');
    }
  });

  it('every declared system interaction works', async () => {
    const rest = (await api.request('GET', '/metadata')).json.rest[0];
    const bundle = (type: string) => ({ resourceType: 'Bundle', type, entry: [{ resource: { resourceType: 'Basic', code: { text: type } }, request: { method: 'POST', url: 'Basic' } }] });
    const works: Record<string, () => Promise<number>> = {
      transaction: async () => (await api.request('POST', '/', { body: bundle('transaction'), tenant })).status,
      batch: async () => (await api.request('POST', '/', { body: bundle('batch'), tenant })).status,
      'search-system': async () => (await api.request('GET', '/?_type=Basic', { tenant })).status,
    };
    expect(rest.interaction.map((i: any) => i.code).sort()).toEqual(Object.keys(works).sort());
    for (const code of Object.keys(works)) {
      expect([code, await works[code]()]).toEqual([code, 200]);
    }
  });

  it.each(['Patient', 'Organization'])('the declared conditional interactions work on %s', async (type) => {
    const value = randomUUID();
    const body = { resourceType: type, identifier: [{ system: 'http://example.org/ids', value }] };
    const criteria = `identifier=${encodeURIComponent(`http://example.org/ids|${value}`)}`;
    expect((await api.request('POST', `/${type}`, { body, tenant, headers: { 'if-none-exist': criteria } })).status).toBe(201);
    expect((await api.request('POST', `/${type}`, { body, tenant, headers: { 'if-none-exist': criteria } })).status).toBe(200);
    expect((await api.request('PUT', `/${type}?${criteria}`, { body: { ...body, active: true }, tenant })).status).toBe(200);
    expect((await api.request('DELETE', `/${type}?${criteria}`, { tenant })).status).toBe(204);
    expect((await api.request('GET', `/${type}?${criteria}`, { tenant })).json.entry ?? []).toEqual([]);
  });

  it.each(['Patient', 'Observation', 'Encounter'])('every search parameter it lists for %s is accepted under strict handling', async (type) => {
    const rest = (await api.request('GET', '/metadata')).json.rest[0];
    const params: { name: string }[] = rest.resource.find((r: any) => r.type === type).searchParam;
    expect(params.map((p) => p.name)).toEqual(expect.arrayContaining(['_id', '_lastUpdated']));
    for (const { name } of params) {
      const response = await api.request('GET', `/${type}?${name}:missing=true`, { tenant, headers: { prefer: 'handling=strict' } });
      expect([name, response.status]).toEqual([name, 200]);
    }
  });

  // Each interaction the statement declares must work on any type it lists.
  it.each(['Patient', 'Organization', 'Basic', 'Questionnaire'])('every declared interaction works on %s', async (type) => {
    const rest = (await api.request('GET', '/metadata')).json.rest[0];
    const declared = rest.resource.find((r: any) => r.type === type).interaction.map((i: any) => i.code).sort();
    const body = type === 'Basic' ? { resourceType: type, code: { text: 'x' } } : type === 'Questionnaire' ? { resourceType: type, status: 'draft' } : { resourceType: type };
    const created = await api.request('POST', `/${type}`, { body, tenant });
    const id = created.json.id;
    const works: Record<string, () => Promise<number>> = {
      create: async () => created.status,
      read: async () => (await api.request('GET', `/${type}/${id}`, { tenant })).status,
      vread: async () => (await api.request('GET', `/${type}/${id}/_history/1`, { tenant })).status,
      update: async () => (await api.request('PUT', `/${type}/${id}`, { body: { ...body, id }, tenant })).status,
      patch: async () => (await api.request('PATCH', `/${type}/${id}`, { body: [{ op: 'add', path: '/language', value: 'en' }], tenant, headers: { 'content-type': 'application/json-patch+json' } })).status,
      'history-instance': async () => (await api.request('GET', `/${type}/${id}/_history`, { tenant })).status,
      'history-type': async () => (await api.request('GET', `/${type}/_history`, { tenant })).status,
      'search-type': async () => (await api.request('GET', `/${type}`, { tenant })).status,
      delete: async () => (await api.request('DELETE', `/${type}/${id}`, { tenant })).status,
    };
    expect(declared).toEqual(Object.keys(works).sort());
    for (const code of Object.keys(works)) {
      expect([code, await works[code]()]).toEqual([code, expect.toSatisfy((s: number) => s >= 200 && s < 300)]);
    }
  });
});

describe('$validate', () => {
  const invalidPatient = { resourceType: 'Patient', gender: 'mail', active: 'yes', name: [{ use: 'nickname' }, { use: 'bogus' }] };

  it('validates a bare resource at type level: 200 with an issue per problem and its path', async () => {
    const response = await api.request('POST', '/Patient/$validate', { body: invalidPatient, tenant });
    expect(response.status).toBe(200);
    expect(response.json.resourceType).toBe('OperationOutcome');
    const expressions = response.json.issue.filter((i: any) => i.severity === 'error').flatMap((i: any) => i.expression);
    expect(expressions.sort()).toEqual(['Patient.active', 'Patient.gender', 'Patient.name[1].use']);
  });

  it('accepts a Parameters wrapper with the resource', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: invalidPatient }] };
    const response = await api.request('POST', '/Patient/$validate', { body, tenant });
    expect(response.status).toBe(200);
    expect(response.json.issue.flatMap((i: any) => i.expression ?? [])).toEqual(expect.arrayContaining(['Patient.gender', 'Patient.active']));
  });

  it('validates at the server base too, the body naming the type (bare or in Parameters)', async () => {
    const bare = await api.request('POST', '/$validate', { body: invalidPatient, tenant });
    expect(bare.status).toBe(200);
    expect(bare.json.issue.flatMap((i: any) => i.expression ?? [])).toEqual(expect.arrayContaining(['Patient.gender', 'Patient.active']));
    const wrapped = await api.request('POST', '/$validate', { body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Observation' } }] }, tenant });
    expect(wrapped.status).toBe(200);
    expect(wrapped.json.issue.some((i: any) => i.severity === 'error' && i.expression?.some((e: string) => e.startsWith('Observation')))).toBe(true);
    const nameless = await api.request('POST', '/$validate', { body: { gender: 'female' }, tenant });
    expect(nameless.status).toBe(400);
    expect(nameless.json.resourceType).toBe('OperationOutcome');
  });

  it('answers an unknown operation alike for GET and POST: 404 naming it', async () => {
    const get = await api.request('GET', '/Patient/$everything', { tenant });
    const post = await api.request('POST', '/Patient/$everything', { body: { resourceType: 'Parameters' }, tenant });
    expect([get.status, post.status]).toEqual([404, 404]);
    expect(get.json.issue[0].diagnostics).toMatch(/^Unknown operation "\$everything"/);
    expect(post.json.issue[0].diagnostics).toMatch(/^Unknown operation "\$everything"/);
  });

  it('says all is well for a valid resource', async () => {
    const response = await api.request('POST', '/Patient/$validate', { body: { resourceType: 'Patient', gender: 'female' }, tenant });
    expect(response.status).toBe(200);
    expect(response.json.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
  });

  it('at instance level in update mode, requires the id to match', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'update' }, { name: 'resource', resource: { resourceType: 'Patient', id: 'other' } }] };
    const response = await api.request('POST', '/Patient/p-1/$validate', { body, tenant });
    expect(response.status).toBe(200);
    expect(response.json.issue[0]).toEqual(expect.objectContaining({ severity: 'error', expression: ['Patient.id'] }));
  });

  it('in delete mode checks the resource exists', async () => {
    const created = await api.request('POST', '/Patient', { body: { resourceType: 'Patient' }, tenant });
    const body = { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'delete' }] };
    expect((await api.request('POST', `/Patient/${created.json.id}/$validate`, { body, tenant })).status).toBe(200);
    expect((await api.request('POST', `/Patient/missing-1/$validate`, { body, tenant })).status).toBe(404);
  });

  it('writes nothing', async () => {
    const history = await api.request('GET', '/Patient/_history', { tenant: `${tenant}-v` });
    await api.request('POST', '/Patient/$validate', { body: { resourceType: 'Patient' }, tenant: `${tenant}-v` });
    expect((await api.request('GET', '/Patient/_history', { tenant: `${tenant}-v` })).json.entry).toEqual(history.json.entry);
  });

  it('rejects a malformed request: no resource in Parameters, unknown mode', async () => {
    const noResource = { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'create' }] };
    expect((await api.request('POST', '/Patient/$validate', { body: noResource, tenant })).status).toBe(400);
    const badMode = { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'squash' }, { name: 'resource', resource: { resourceType: 'Patient' } }] };
    expect((await api.request('POST', '/Patient/$validate', { body: badMode, tenant })).status).toBe(400);
  });
});
