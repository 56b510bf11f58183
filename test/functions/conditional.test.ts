/**
 * Conditional create, update and delete as single requests (R4 http.html#ccreate,
 * #cond-update, #cdelete), through the local server and DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();
const tenant = `cond-${randomUUID().slice(0, 8)}`;
const SYSTEM = 'http://example.org/mrn';

/** A fresh identifier value, so each test starts with no match. */
function mrn(): string {
  return randomUUID();
}

function patient(value: string, extra: Record<string, unknown> = {}) {
  return { resourceType: 'Patient', identifier: [{ system: SYSTEM, value }], ...extra };
}

async function create(value: string, extra: Record<string, unknown> = {}): Promise<any> {
  const created = await api.request('POST', '/Patient', { body: patient(value, extra), tenant });
  expect(created.status).toBe(201);
  return created.json;
}

async function idsWith(value: string): Promise<string[]> {
  const found = await api.request('GET', `/Patient?identifier=${encodeURIComponent(`${SYSTEM}|${value}`)}`, { tenant });
  return (found.json.entry ?? []).map((entry: any) => entry.resource.id).sort();
}

const criteria = (value: string) => `identifier=${encodeURIComponent(`${SYSTEM}|${value}`)}`;

describe('conditional create (If-None-Exist)', () => {
  it('creates when nothing matches: 201 with Location', async () => {
    const value = mrn();
    const response = await api.request('POST', '/Patient', { body: patient(value), tenant, headers: { 'if-none-exist': criteria(value) } });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`${api.baseUrl}/Patient/${response.json.id}/_history/1`);
    expect(await idsWith(value)).toEqual([response.json.id]);
  });

  it('returns the one match as it is: 200, its ETag, and no new version', async () => {
    const value = mrn();
    const existing = await create(value, { gender: 'female' });
    const response = await api.request('POST', '/Patient', { body: patient(value, { gender: 'male' }), tenant, headers: { 'if-none-exist': criteria(value) } });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('W/"1"');
    expect(response.json).toEqual(existing);
    expect(await idsWith(value)).toEqual([existing.id]);
    const history = await api.request('GET', `/Patient/${existing.id}/_history`, { tenant });
    expect(history.json.entry).toHaveLength(1);
  });

  it('accepts the criteria prefixed with the type, as many clients send them', async () => {
    const value = mrn();
    const existing = await create(value);
    const response = await api.request('POST', '/Patient', { body: patient(value), tenant, headers: { 'if-none-exist': `Patient?${criteria(value)}` } });
    expect(response.status).toBe(200);
    expect(response.json.id).toBe(existing.id);
  });

  it('answers 412 when several match, and creates nothing', async () => {
    const value = mrn();
    await create(value);
    await create(value);
    const response = await api.request('POST', '/Patient', { body: patient(value), tenant, headers: { 'if-none-exist': criteria(value) } });
    expect(response.status).toBe(412);
    expect(response.json.issue[0].diagnostics).toMatch(/more than one/);
    expect(await idsWith(value)).toHaveLength(2);
  });

  it.each([
    ['an unknown parameter (strict handling, always)', 'favourite-colour=blue', /favourite-colour/],
    ['a result parameter', '_count=1', /_count/],
    ['no criteria at all', '', /needs search criteria/],
    ['a malformed value', 'birthdate=someday', /someday/],
  ])('refuses %s with 400 and creates nothing', async (_name, header, says) => {
    const value = mrn();
    const response = await api.request('POST', '/Patient', { body: patient(value), tenant, headers: { 'if-none-exist': header } });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(says);
    expect(await idsWith(value)).toEqual([]);
  });
});

describe('conditional update (PUT /{type}?criteria)', () => {
  it('creates when nothing matches (201, a server id), and updates the one match the next time (200, version 2)', async () => {
    const value = mrn();
    const first = await api.request('PUT', `/Patient?${criteria(value)}`, { body: patient(value, { gender: 'female' }), tenant });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`${api.baseUrl}/Patient/${first.json.id}/_history/1`);
    const second = await api.request('PUT', `/Patient?${criteria(value)}`, { body: patient(value, { gender: 'male' }), tenant });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ id: first.json.id, gender: 'male', meta: { versionId: '2' } });
    expect(second.headers.get('etag')).toBe('W/"2"');
    expect(await idsWith(value)).toEqual([first.json.id]);
  });

  it('with an id in the body and no match: update as create with that id', async () => {
    const value = mrn();
    const id = `cu-${randomUUID()}`;
    const response = await api.request('PUT', `/Patient?${criteria(value)}`, { body: patient(value, { id }), tenant });
    expect(response.status).toBe(201);
    expect(response.json.id).toBe(id);
  });

  it('refuses a body id that differs from the match (400) and changes nothing', async () => {
    const value = mrn();
    const existing = await create(value);
    const response = await api.request('PUT', `/Patient?${criteria(value)}`, { body: patient(value, { id: 'someone-else', gender: 'male' }), tenant });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].expression).toEqual(['Patient.id']);
    expect((await api.request('GET', `/Patient/${existing.id}`, { tenant })).json.meta.versionId).toBe('1');
  });

  it('answers 412 when several match, and writes nothing', async () => {
    const value = mrn();
    const a = await create(value);
    const b = await create(value);
    const response = await api.request('PUT', `/Patient?${criteria(value)}`, { body: patient(value, { gender: 'other' }), tenant });
    expect(response.status).toBe(412);
    for (const id of [a.id, b.id]) {
      expect((await api.request('GET', `/Patient/${id}`, { tenant })).json.meta.versionId).toBe('1');
    }
  });

  it('honours If-Match on the match: 412 when stale', async () => {
    const value = mrn();
    const existing = await create(value);
    const stale = await api.request('PUT', `/Patient?${criteria(value)}`, { body: patient(value, { gender: 'male' }), tenant, headers: { 'if-match': 'W/"7"' } });
    expect(stale.status).toBe(412);
    const fresh = await api.request('PUT', `/Patient?${criteria(value)}`, { body: patient(value, { gender: 'male' }), tenant, headers: { 'if-match': 'W/"1"' } });
    expect(fresh.status).toBe(200);
    expect(fresh.json.id).toBe(existing.id);
  });

  it('refuses a PUT without criteria (400): it would match the whole type', async () => {
    const response = await api.request('PUT', '/Patient', { body: patient(mrn()), tenant });
    expect(response.status).toBe(400);
    expect(response.json.issue[0].diagnostics).toMatch(/needs search criteria/);
  });
});

describe('conditional delete (DELETE /{type}?criteria)', () => {
  it('deletes the one match: 204 with the deletion ETag, then 410', async () => {
    const value = mrn();
    const existing = await create(value);
    const response = await api.request('DELETE', `/Patient?${criteria(value)}`, { tenant });
    expect(response.status).toBe(204);
    expect(response.headers.get('etag')).toBe('W/"2"');
    expect((await api.request('GET', `/Patient/${existing.id}`, { tenant })).status).toBe(410);
  });

  it('answers 204 and writes nothing when nothing matches', async () => {
    const response = await api.request('DELETE', `/Patient?${criteria(mrn())}`, { tenant });
    expect(response.status).toBe(204);
    expect(response.headers.get('etag')).toBeNull();
  });

  it('answers 412 when several match, and deletes none of them', async () => {
    const value = mrn();
    await create(value);
    await create(value);
    const response = await api.request('DELETE', `/Patient?${criteria(value)}`, { tenant });
    expect(response.status).toBe(412);
    expect(await idsWith(value)).toHaveLength(2);
  });

  it('refuses a DELETE without criteria, or with parameters that select nothing, with 400', async () => {
    const value = mrn();
    await create(value);
    for (const path of ['/Patient', '/Patient?_format=json', '/Patient?identifier=']) {
      const response = await api.request('DELETE', path, { tenant });
      expect([path, response.status]).toEqual([path, 400]);
    }
    expect(await idsWith(value)).toHaveLength(1);
  });
});
