/**
 * Optimistic locking under real concurrency against DynamoDB Local: no lost update, no gap in
 * history, exactly one winner per If-Match.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();
const tenant = `conc-${randomUUID().slice(0, 8)}`;
const PARALLEL = 20;

async function newPatient(): Promise<string> {
  const created = await api.request('POST', '/Patient', { body: { resourceType: 'Patient', name: [{ family: 'Race' }] }, tenant });
  return created.json.id;
}

async function versionsInHistory(id: string): Promise<string[]> {
  const history = await api.request('GET', `/Patient/${id}/_history?_count=100`, { tenant });
  return history.json.entry.map((entry: any) => entry.response.etag);
}

function etags(from: number, to: number): string[] {
  return Array.from({ length: from - to + 1 }, (_, i) => `W/"${from - i}"`);
}

describe('concurrent writers', () => {
  it(`${PARALLEL} updates with the same If-Match: exactly one wins, the others get 412`, async () => {
    const id = await newPatient();
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        api.request('PUT', `/Patient/${id}`, { body: { resourceType: 'Patient', id, name: [{ family: `Writer${i}` }] }, tenant, headers: { 'if-match': 'W/"1"' } }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(PARALLEL - 1).fill(412)]);
    const winner = responses.find((r) => r.status === 200)!;
    const current = await api.request('GET', `/Patient/${id}`, { tenant });
    expect(current.json.meta.versionId).toBe('2');
    expect(current.json.name).toEqual(winner.json.name);
    expect(await versionsInHistory(id)).toEqual(etags(2, 1));
  });

  it(`${PARALLEL} updates without If-Match: every one lands as its own version, history complete`, async () => {
    const id = await newPatient();
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => api.request('PUT', `/Patient/${id}`, { body: { resourceType: 'Patient', id, name: [{ family: `Writer${i}` }] }, tenant })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(PARALLEL).fill(200));
    const versions = responses.map((r) => Number(r.json.meta.versionId)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: PARALLEL }, (_, i) => i + 2));
    expect(await versionsInHistory(id)).toEqual(etags(PARALLEL + 1, 1));
  });

  it(`${PARALLEL} JSON Patches adding different names: none is lost`, async () => {
    const id = await newPatient();
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        api.request('PATCH', `/Patient/${id}`, { body: [{ op: 'add', path: '/name/-', value: { family: `Patcher${i}` } }], tenant, headers: { 'content-type': 'application/json-patch+json' } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(PARALLEL).fill(200));
    const current = await api.request('GET', `/Patient/${id}`, { tenant });
    const families = current.json.name.map((n: any) => n.family).sort();
    expect(families).toEqual(['Race', ...Array.from({ length: PARALLEL }, (_, i) => `Patcher${i}`)].sort());
    expect(await versionsInHistory(id)).toEqual(etags(PARALLEL + 1, 1));
  });

  it('parallel update-as-create of one new id: one creates (201), the rest update', async () => {
    const id = `race-${randomUUID()}`;
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => api.request('PUT', `/Patient/${id}`, { body: { resourceType: 'Patient', id }, tenant })),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(await versionsInHistory(id)).toEqual(etags(10, 1));
  });

  it('parallel deletes write exactly one deletion', async () => {
    const id = await newPatient();
    const responses = await Promise.all(Array.from({ length: 10 }, () => api.request('DELETE', `/Patient/${id}`, { tenant })));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(204));
    expect(await versionsInHistory(id)).toEqual(etags(2, 1));
  });
});
