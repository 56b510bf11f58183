/**
 * Tenant isolation on every interaction: tenant B sees nothing of tenant A (404, never 403),
 * and nothing B does changes A's data.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();
const tenantA = `a-${randomUUID().slice(0, 8)}`;
const tenantB = `b-${randomUUID().slice(0, 8)}`;
const jsonPatch = { 'content-type': 'application/json-patch+json' };
let id: string;

beforeAll(async () => {
  const created = await api.request('POST', '/Patient', { body: { resourceType: 'Patient', name: [{ family: 'Private' }] }, tenant: tenantA });
  id = created.json.id;
});

describe("tenant B and tenant A's resource", () => {
  it.each([
    ['read', () => api.request('GET', `/Patient/${id}`, { tenant: tenantB })],
    ['vread', () => api.request('GET', `/Patient/${id}/_history/1`, { tenant: tenantB })],
    ['instance history', () => api.request('GET', `/Patient/${id}/_history`, { tenant: tenantB })],
    ['patch', () => api.request('PATCH', `/Patient/${id}`, { tenant: tenantB, headers: jsonPatch, body: [{ op: 'replace', path: '/name/0/family', value: 'Stolen' }] })],
    ['delete', () => api.request('DELETE', `/Patient/${id}`, { tenant: tenantB })],
    ['$validate mode=delete', () => api.request('POST', `/Patient/${id}/$validate`, { tenant: tenantB, body: { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'delete' }, { name: 'resource', resource: { resourceType: 'Patient' } }] } })],
  ])('%s → 404', async (_name, call) => {
    const response = await call();
    expect(response.status).toBe(404);
    expect(response.json.issue[0].code).toBe('not-found');
  });

  it('update with If-Match → 412 "does not exist", like any unknown id', async () => {
    const response = await api.request('PUT', `/Patient/${id}`, { tenant: tenantB, headers: { 'if-match': 'W/"1"' }, body: { resourceType: 'Patient', id } });
    expect(response.status).toBe(412);
    expect(response.json.issue[0].diagnostics).toMatch(/does not exist/);
  });

  it("update without If-Match creates B's own resource and leaves A's untouched", async () => {
    const response = await api.request('PUT', `/Patient/${id}`, { tenant: tenantB, body: { resourceType: 'Patient', id, name: [{ family: 'Other' }] } });
    expect(response.status).toBe(201);
    expect(response.json.meta.versionId).toBe('1');
    await api.request('DELETE', `/Patient/${id}`, { tenant: tenantB });
  });

  it('type history and search listing of B never show A', async () => {
    for (const path of ['/Patient/_history', '/Patient']) {
      const response = await api.request('GET', path, { tenant: tenantB });
      expect(response.status).toBe(200);
      expect(JSON.stringify(response.json)).not.toContain('Private');
    }
  });

  it("A's resource is unchanged after all of B's attempts", async () => {
    const read = await api.request('GET', `/Patient/${id}`, { tenant: tenantA });
    expect(read.status).toBe(200);
    expect(read.json.meta.versionId).toBe('1');
    expect(read.json.name[0].family).toBe('Private');
    const history = await api.request('GET', `/Patient/${id}/_history`, { tenant: tenantA });
    expect(history.json.entry).toHaveLength(1);
  });
});
