/**
 * Bad input gets a precise OperationOutcome with the right status and writes nothing.
 * Every case runs in one fresh tenant, whose history must still be empty at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();
const tenant = `bad-${randomUUID().slice(0, 8)}`;
const patient = { resourceType: 'Patient', gender: 'female' };

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly status: number;
  /** Text the OperationOutcome's diagnostics must contain. */
  readonly says: RegExp;
  readonly expression?: string[];
}

const CASES: Case[] = [
  { name: 'malformed JSON', method: 'POST', path: '/Patient', body: '{"resourceType": "Patient",', status: 400, says: /Malformed JSON/ },
  { name: 'a JSON array instead of a resource', method: 'POST', path: '/Patient', body: [patient], status: 400, says: /JSON object/ },
  { name: 'an empty body', method: 'POST', path: '/Patient', body: '', status: 400, says: /empty/ },
  { name: 'XML content', method: 'POST', path: '/Patient', body: '<Patient xmlns="http://hl7.org/fhir"/>', headers: { 'content-type': 'application/fhir+xml' }, status: 415, says: /application\/fhir\+xml/ },
  { name: 'text/plain content', method: 'PUT', path: '/Patient/p1', body: JSON.stringify({ ...patient, id: 'p1' }), headers: { 'content-type': 'text/plain' }, status: 415, says: /text\/plain/ },
  { name: 'no content type', method: 'POST', path: '/Patient', body: JSON.stringify(patient), headers: { 'content-type': '' }, status: 415, says: /missing/ },
  { name: 'an XML-only Accept', method: 'GET', path: '/Patient', headers: { accept: 'application/fhir+xml' }, status: 406, says: /Accept/ },
  { name: '_format=xml', method: 'POST', path: '/Patient?_format=xml', body: patient, status: 406, says: /_format/ },
  { name: 'an unknown resource type in the URL', method: 'POST', path: '/Patientx', body: { resourceType: 'Patientx' }, status: 404, says: /Unknown resource type "Patientx"/ },
  { name: 'an unknown resource type on read', method: 'GET', path: '/Foo/1', status: 404, says: /Unknown resource type/ },
  { name: 'a body type that differs from the URL', method: 'POST', path: '/Patient', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, status: 400, says: /does not match/, expression: ['resourceType'] },
  { name: 'an unknown resourceType in the body', method: 'POST', path: '/Patient', body: { resourceType: 'Unicorn' }, status: 400, says: /does not match/ },
  { name: 'an update whose body id differs from the URL', method: 'PUT', path: '/Patient/p1', body: { ...patient, id: 'p2' }, status: 400, says: /does not match/, expression: ['Patient.id'] },
  { name: 'an update without an id in the body', method: 'PUT', path: '/Patient/p1', body: patient, status: 400, says: /id is required/, expression: ['Patient.id'] },
  { name: 'an id with a key separator', method: 'PUT', path: '/Patient/a%23TENANT%23other', body: { ...patient, id: 'a#TENANT#other' }, status: 400, says: /Invalid id/ },
  { name: 'an id with a path traversal', method: 'GET', path: '/Patient/..%2F..%2Fsecret', status: 400, says: /Invalid id/ },
  { name: 'an id longer than 64 characters', method: 'GET', path: `/Patient/${'a'.repeat(65)}`, status: 400, says: /Invalid id/ },
  { name: 'an id with a space', method: 'DELETE', path: '/Patient/a%20b', status: 400, says: /Invalid id/ },
  { name: 'a non-numeric version id', method: 'GET', path: '/Patient/p1/_history/one', status: 400, says: /Invalid version id/ },
  { name: 'a malformed If-Match', method: 'PUT', path: '/Patient/p1', body: { ...patient, id: 'p1' }, headers: { 'if-match': 'yesterday' }, status: 400, says: /If-Match/ },
  { name: 'a hostile tenant id', method: 'GET', path: '/Patient', headers: { 'x-tenant-id': 'a#RESOURCE#b' }, status: 403, says: /tenant/ },
  { name: 'an unknown path', method: 'GET', path: '/Patient/p1/_history/1/extra', status: 404, says: /./ },
  { name: 'a method the path does not have', method: 'DELETE', path: '/metadata', status: 405, says: /./ },
  { name: 'an unknown operation', method: 'POST', path: '/Patient/$everything', body: patient, status: 404, says: /Unknown operation/ },
  { name: 'a string where a boolean belongs', method: 'POST', path: '/Patient', body: { resourceType: 'Patient', active: 'yes' }, status: 400, says: /boolean/, expression: ['Patient.active'] },
  { name: 'an element R4 does not define', method: 'POST', path: '/Patient', body: { resourceType: 'Patient', favouriteColour: 'blue' }, status: 400, says: /favouriteColour/, expression: ['Patient.favouriteColour'] },
  { name: 'a code outside a required binding', method: 'POST', path: '/Observation', body: { resourceType: 'Observation', status: 'done', code: { text: 'x' } }, status: 400, says: /./, expression: ['Observation.status'] },
  { name: 'a missing required element', method: 'POST', path: '/Observation', body: { resourceType: 'Observation', status: 'final' }, status: 400, says: /./, expression: ['Observation.code'] },
  { name: '_count that is not a number', method: 'GET', path: '/Patient?_count=lots', status: 400, says: /_count/, expression: ['_count'] },
  { name: '_since that is not an instant', method: 'GET', path: '/Patient/_history?_since=yesterday', status: 400, says: /_since/, expression: ['_since'] },
];

describe('bad input', () => {
  it.each(CASES)('$name → $status OperationOutcome', async ({ method, path, body, headers, status, says, expression }) => {
    const response = await api.request(method, path, { body, headers, tenant });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(response.json.resourceType).toBe('OperationOutcome');
    const issue = response.json.issue[0];
    expect(issue.severity).toBe('error');
    expect(`${issue.diagnostics ?? ''} ${issue.details?.text ?? ''}`).toMatch(says);
    if (expression) {
      expect(response.json.issue.flatMap((i: any) => i.expression ?? [])).toEqual(expect.arrayContaining(expression));
    }
  });

  it('an invalid Patient is one 400 naming both bad paths', async () => {
    const response = await api.request('POST', '/Patient', { body: { resourceType: 'Patient', gender: 'mail', active: 'yes' }, tenant });
    expect(response.status).toBe(400);
    const expressions = response.json.issue.flatMap((i: any) => i.expression ?? []);
    expect(expressions).toEqual(expect.arrayContaining(['Patient.gender', 'Patient.active']));
    expect(response.json.issue.every((i: any) => i.severity === 'error')).toBe(true);
  });

  it('a request body above the limit is 413 before it is parsed', async () => {
    const huge = JSON.stringify({ resourceType: 'Basic', code: { text: 'x'.repeat(6 * 1024 * 1024) } });
    const response = await api.request('POST', '/Basic', { body: huge, tenant });
    expect(response.status).toBe(413);
    expect(response.json.issue[0].diagnostics).toMatch(/limit/);
  });

  it('a resource that cannot fit a DynamoDB item even compressed is 413, not a crash', async () => {
    // Random bytes do not compress: ~930 KB of base64 (under the validator's 1 MB base64Binary cap) stays far above the 400 KB item limit.
    const binary = { resourceType: 'Binary', contentType: 'application/octet-stream', data: randomBytes(700_000).toString('base64') };
    const response = await api.request('POST', '/Binary', { body: binary, tenant });
    expect(response.status).toBe(413);
    expect(response.json.issue[0].diagnostics).toMatch(/too large to store/);
  });

  it('a large but compressible resource is stored and read back intact', async () => {
    const text = Array.from({ length: 30_000 }, (_, i) => `line ${i} of a long clinical note`).join('\n');
    const document = { resourceType: 'Basic', code: { text: 'note' }, extension: [{ url: 'http://example.org/note', valueString: text }] };
    const created = await api.request('POST', '/Basic', { body: document, tenant: `${tenant}-big` });
    expect(created.status).toBe(201);
    const read = await api.request('GET', `/Basic/${created.json.id}`, { tenant: `${tenant}-big` });
    expect(read.json.extension[0].valueString).toBe(text);
  });

  afterAll(async () => {
    // Nothing above may have written anything for this tenant.
    for (const type of ['Patient', 'Observation', 'Basic', 'Binary']) {
      const history = await api.request('GET', `/${type}/_history`, { tenant });
      expect(history.json.entry, `${type} history of the bad-input tenant`).toEqual([]);
    }
  });
});
