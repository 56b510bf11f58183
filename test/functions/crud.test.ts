/**
 * The FHIR REST interactions over HTTP, through the local server, the real handlers and
 * DynamoDB Local: statuses and headers as R4 http.html specifies them.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();

function newTenant(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

const patient = { resourceType: 'Patient', name: [{ family: 'Chalmers', given: ['Peter'] }], gender: 'male', birthDate: '1974-12-25' };

describe('a new user session: create, read, update, delete, history', () => {
  const tenant = newTenant();

  it('walks the whole lifecycle with the right statuses and headers', async () => {
    const created = await api.request('POST', '/Patient', { body: patient, tenant });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect(id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(created.headers.get('location')).toBe(`${api.baseUrl}/Patient/${id}/_history/1`);
    expect(created.headers.get('etag')).toBe('W/"1"');
    expect(created.headers.get('last-modified')).toBe(new Date(created.json.meta.lastUpdated).toUTCString());
    expect(created.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(created.json.meta.versionId).toBe('1');

    const read = await api.request('GET', `/Patient/${id}`, { tenant });
    expect(read.status).toBe(200);
    expect(read.json).toEqual(created.json);
    expect(read.headers.get('etag')).toBe('W/"1"');

    const updated = await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id, active: true }, tenant, headers: { 'if-match': 'W/"1"' } });
    expect(updated.status).toBe(200);
    expect(updated.json.meta.versionId).toBe('2');
    expect(updated.headers.get('etag')).toBe('W/"2"');
    expect(updated.headers.get('location')).toBeNull();

    const stale = await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id, active: false }, tenant, headers: { 'if-match': 'W/"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.json.resourceType).toBe('OperationOutcome');
    expect((await api.request('GET', `/Patient/${id}`, { tenant })).json.active).toBe(true);

    const deleted = await api.request('DELETE', `/Patient/${id}`, { tenant });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');

    const gone = await api.request('GET', `/Patient/${id}`, { tenant });
    expect(gone.status).toBe(410);
    expect(gone.json.issue[0].code).toBe('deleted');

    const oldVersion = await api.request('GET', `/Patient/${id}/_history/1`, { tenant });
    expect(oldVersion.status).toBe(200);
    expect(oldVersion.json).toEqual(created.json);
    expect((await api.request('GET', `/Patient/${id}/_history/3`, { tenant })).status).toBe(410);
    expect((await api.request('GET', `/Patient/${id}/_history/4`, { tenant })).status).toBe(404);

    const history = await api.request('GET', `/Patient/${id}/_history`, { tenant });
    expect(history.status).toBe(200);
    expect(history.json.type).toBe('history');
    expect(history.json.entry.map((e: any) => [e.request.method, e.response.etag, e.resource?.meta?.versionId])).toEqual([
      ['DELETE', 'W/"3"', undefined],
      ['PUT', 'W/"2"', '2'],
      ['POST', 'W/"1"', '1'],
    ]);
  });
});

describe('create', () => {
  const tenant = newTenant();

  it('ignores a client id and assigns its own (R4: the server SHALL ignore it)', async () => {
    const created = await api.request('POST', '/Patient', { body: { ...patient, id: 'client-chosen' }, tenant });
    expect(created.status).toBe(201);
    expect(created.json.id).not.toBe('client-chosen');
    expect((await api.request('GET', '/Patient/client-chosen', { tenant })).status).toBe(404);
  });

  it('replaces meta.versionId and meta.lastUpdated with the server\'s, keeping the rest of meta', async () => {
    const body = { ...patient, meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: 'urn:x', code: 'y' }] } };
    const created = await api.request('POST', '/Patient', { body, tenant });
    expect(created.json.meta.versionId).toBe('1');
    expect(created.json.meta.lastUpdated).not.toBe('2001-01-01T00:00:00Z');
    expect(Date.now() - Date.parse(created.json.meta.lastUpdated)).toBeLessThan(60_000);
    expect(created.json.meta.tag).toEqual([{ system: 'urn:x', code: 'y' }]);
  });

  it.each([
    ['minimal', (r: any) => expect(r.text).toBe('')],
    ['representation', (r: any) => expect(r.json.resourceType).toBe('Patient')],
    ['OperationOutcome', (r: any) => expect(r.json.resourceType).toBe('OperationOutcome')],
  ])('honours Prefer: return=%s and still sends Location and ETag', async (preference, check) => {
    const created = await api.request('POST', '/Patient', { body: patient, tenant, headers: { prefer: `return=${preference}` } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
    expect(created.headers.get('etag')).toBe('W/"1"');
    check(created);
  });

  it('accepts application/json and a charset parameter', async () => {
    const created = await api.request('POST', '/Patient', { body: patient, tenant, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(created.status).toBe(201);
  });
});

describe('update', () => {
  const tenant = newTenant();

  it('creates with a client id (update-as-create) and then updates it', async () => {
    const id = `client-${randomUUID()}`;
    const first = await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`${api.baseUrl}/Patient/${id}/_history/1`);
    expect(first.json.meta.versionId).toBe('1');
    const second = await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id, gender: 'female' }, tenant });
    expect(second.status).toBe(200);
    expect(second.json.meta.versionId).toBe('2');
    expect((await api.request('GET', `/Patient/${id}`, { tenant })).json.gender).toBe('female');
  });

  it('brings a deleted resource back as a new version', async () => {
    const id = `revive-${randomUUID()}`;
    await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant });
    await api.request('DELETE', `/Patient/${id}`, { tenant });
    const revived = await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant });
    expect(revived.status).toBe(201);
    expect(revived.json.meta.versionId).toBe('3');
    expect((await api.request('GET', `/Patient/${id}`, { tenant })).status).toBe(200);
  });

  it('with If-Match on a resource that does not exist is 412', async () => {
    const id = `missing-${randomUUID()}`;
    const response = await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant, headers: { 'if-match': 'W/"1"' } });
    expect(response.status).toBe(412);
    expect((await api.request('GET', `/Patient/${id}`, { tenant })).status).toBe(404);
  });

  it('accepts If-Match as a strong or bare ETag too', async () => {
    const id = `etag-${randomUUID()}`;
    await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant });
    expect((await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant, headers: { 'if-match': '"1"' } })).status).toBe(200);
    expect((await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant, headers: { 'if-match': '2' } })).status).toBe(200);
  });
});

describe('patch (JSON Patch)', () => {
  const tenant = newTenant();
  const jsonPatch = { 'content-type': 'application/json-patch+json' };

  async function createPatient(): Promise<string> {
    return (await api.request('POST', '/Patient', { body: patient, tenant })).json.id;
  }

  it('applies the operations and writes a new version', async () => {
    const id = await createPatient();
    const patched = await api.request('PATCH', `/Patient/${id}`, {
      tenant,
      headers: jsonPatch,
      body: [
        { op: 'replace', path: '/gender', value: 'female' },
        { op: 'add', path: '/name/0/given/-', value: 'James' },
      ],
    });
    expect(patched.status).toBe(200);
    expect(patched.json.gender).toBe('female');
    expect(patched.json.name[0].given).toEqual(['Peter', 'James']);
    expect(patched.json.meta.versionId).toBe('2');
    expect(patched.headers.get('etag')).toBe('W/"2"');
  });

  it('is 412 with a stale If-Match and changes nothing', async () => {
    const id = await createPatient();
    await api.request('PATCH', `/Patient/${id}`, { tenant, headers: jsonPatch, body: [{ op: 'replace', path: '/gender', value: 'other' }] });
    const stale = await api.request('PATCH', `/Patient/${id}`, { tenant, headers: { ...jsonPatch, 'if-match': 'W/"1"' }, body: [{ op: 'replace', path: '/gender', value: 'female' }] });
    expect(stale.status).toBe(412);
    const current = await api.request('GET', `/Patient/${id}`, { tenant });
    expect(current.json.gender).toBe('other');
    expect(current.json.meta.versionId).toBe('2');
  });

  it.each([
    ['a failing test operation', [{ op: 'test', path: '/gender', value: 'female' }], 422],
    ['a path that does not exist', [{ op: 'replace', path: '/contact/5/name', value: {} }], 422],
    ['a change of id', [{ op: 'replace', path: '/id', value: 'other' }], 422],
    ['an invalid result', [{ op: 'replace', path: '/gender', value: 'mail' }], 400],
    ['an operation without op', [{ path: '/gender', value: 'female' }], 400],
    ['a body that is not an array', { op: 'replace', path: '/gender', value: 'female' }, 400],
  ])('rejects %s and writes nothing', async (_label, body, status) => {
    const id = await createPatient();
    const response = await api.request('PATCH', `/Patient/${id}`, { tenant, headers: jsonPatch, body });
    expect(response.status).toBe(status);
    expect(response.json.resourceType).toBe('OperationOutcome');
    expect((await api.request('GET', `/Patient/${id}`, { tenant })).json.meta.versionId).toBe('1');
  });

  it('requires the JSON Patch content type (415 otherwise)', async () => {
    const id = await createPatient();
    const response = await api.request('PATCH', `/Patient/${id}`, { tenant, body: [{ op: 'replace', path: '/gender', value: 'female' }] });
    expect(response.status).toBe(415);
  });

  it('is 404 on an unknown resource and 410 on a deleted one', async () => {
    expect((await api.request('PATCH', `/Patient/nope-${randomUUID()}`, { tenant, headers: jsonPatch, body: [] })).status).toBe(404);
    const id = await createPatient();
    await api.request('DELETE', `/Patient/${id}`, { tenant });
    expect((await api.request('PATCH', `/Patient/${id}`, { tenant, headers: jsonPatch, body: [] })).status).toBe(410);
  });
});

describe('delete', () => {
  const tenant = newTenant();

  it('is idempotent: deleting a deleted resource writes no new version', async () => {
    const id = (await api.request('POST', '/Patient', { body: patient, tenant })).json.id;
    expect((await api.request('DELETE', `/Patient/${id}`, { tenant })).status).toBe(204);
    expect((await api.request('DELETE', `/Patient/${id}`, { tenant })).status).toBe(204);
    const history = await api.request('GET', `/Patient/${id}/_history`, { tenant });
    expect(history.json.entry).toHaveLength(2);
  });

  it('is 404 for a resource that never existed', async () => {
    expect((await api.request('DELETE', `/Patient/never-${randomUUID()}`, { tenant })).status).toBe(404);
  });

  it('honours If-Match: stale is 412 and the resource stays', async () => {
    const id = (await api.request('POST', '/Patient', { body: patient, tenant })).json.id;
    await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id }, tenant });
    expect((await api.request('DELETE', `/Patient/${id}`, { tenant, headers: { 'if-match': 'W/"1"' } })).status).toBe(412);
    expect((await api.request('GET', `/Patient/${id}`, { tenant })).status).toBe(200);
    expect((await api.request('DELETE', `/Patient/${id}`, { tenant, headers: { 'if-match': 'W/"2"' } })).status).toBe(204);
    expect((await api.request('GET', `/Patient/${id}`, { tenant })).status).toBe(410);
  });
});

describe('history paging and type history', () => {
  const tenant = newTenant();

  it('pages an instance history newest first with next links until every version is seen', async () => {
    const id = `paged-${randomUUID()}`;
    for (let i = 0; i < 7; i++) {
      await api.request('PUT', `/Patient/${id}`, { body: { ...patient, id, birthDate: `19${10 + i}-01-01` }, tenant });
    }
    const seen: string[] = [];
    let url: string | undefined = `/Patient/${id}/_history?_count=3`;
    let pages = 0;
    while (url) {
      const page = await api.request('GET', url, { tenant });
      expect(page.status).toBe(200);
      expect(page.json.entry.length).toBeLessThanOrEqual(3);
      seen.push(...page.json.entry.map((e: any) => e.resource.meta.versionId));
      const next = page.json.link.find((l: any) => l.relation === 'next')?.url as string | undefined;
      url = next?.slice(api.baseUrl.length);
      pages += 1;
    }
    expect(seen).toEqual(['7', '6', '5', '4', '3', '2', '1']);
    expect(pages).toBe(3);
  });

  it('lists every version of every resource of a type, newest first, with _since', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await api.request('POST', '/Observation', { body: observation(), tenant });
      ids.push(created.json.id);
    }
    const middle = (await api.request('GET', `/Observation/${ids[1]}`, { tenant })).json.meta.lastUpdated;
    await api.request('PUT', `/Observation/${ids[0]}`, { body: { ...observation(), id: ids[0], status: 'amended' }, tenant });

    const all = await api.request('GET', '/Observation/_history', { tenant });
    expect(all.status).toBe(200);
    expect(all.json.entry.map((e: any) => `${e.resource.id}@${e.resource.meta.versionId}`)).toEqual([`${ids[0]}@2`, `${ids[2]}@1`, `${ids[1]}@1`, `${ids[0]}@1`]);

    const since = await api.request('GET', `/Observation/_history?_since=${encodeURIComponent(middle)}`, { tenant });
    expect(since.json.entry.map((e: any) => `${e.resource.id}@${e.resource.meta.versionId}`)).toEqual([`${ids[0]}@2`, `${ids[2]}@1`, `${ids[1]}@1`]);
  });

  it('answers 404 for the history of a resource that never existed', async () => {
    expect((await api.request('GET', `/Patient/none-${randomUUID()}/_history`, { tenant })).status).toBe(404);
  });
});

describe('search: a type listed newest first', () => {
  const tenant = newTenant();

  it('lists live resources newest first, pages with next, and leaves out deleted ones', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await api.request('POST', '/Patient', { body: patient, tenant })).json.id);
    }
    await api.request('DELETE', `/Patient/${ids[2]}`, { tenant });
    const listed: string[] = [];
    let url: string | undefined = '/Patient?_count=2';
    while (url) {
      const page = await api.request('GET', url, { tenant });
      expect(page.status).toBe(200);
      expect(page.json.type).toBe('searchset');
      expect(page.json.entry.length).toBeLessThanOrEqual(2);
      listed.push(...page.json.entry.map((e: any) => e.resource.id));
      url = page.json.link.find((l: any) => l.relation === 'next')?.url.slice(api.baseUrl.length);
    }
    expect(listed).toEqual([ids[4], ids[3], ids[1], ids[0]]);
  });

  it('reports unsupported parameters (lenient) and rejects them with Prefer: handling=strict', async () => {
    const lenient = await api.request('GET', '/Patient?shoe-size=42&_count=1', { tenant });
    expect(lenient.status).toBe(200);
    const outcome = lenient.json.entry.find((e: any) => e.search.mode === 'outcome');
    expect(outcome.resource.issue[0].expression).toEqual(['shoe-size']);
    expect(lenient.json.link[0].url).not.toContain('shoe-size');
    const strict = await api.request('GET', '/Patient?shoe-size=42', { tenant, headers: { prefer: 'handling=strict' } });
    expect(strict.status).toBe(400);
  });

  it('rejects _count above the maximum', async () => {
    expect((await api.request('GET', '/Patient?_count=100000', { tenant })).status).toBe(400);
  });

  it('rejects a forged cursor instead of reading from it', async () => {
    expect((await api.request('GET', '/Patient?_cursor=not-a-cursor', { tenant })).status).toBe(400);
  });
});

function observation() {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}
