/** Reading a Bundle entry's request, and pointing errors at the entry. */
import { describe, expect, it } from 'vitest';
import { atEntry, parseEntry } from '../../../core/fhir/batch-entry.js';
import { DEFAULT_PREFERENCES } from '../../../core/fhir/request.js';
import { statusText } from '../../../core/fhir/response.js';
import { FhirError } from '../../../core/errors.js';

const patient = { resourceType: 'Patient', id: 'p1' };
const bundle = { baseUrl: 'https://fhir.example', prefer: DEFAULT_PREFERENCES };

function parseError(raw: unknown): FhirError {
  try {
    parseEntry(raw, 4, bundle);
  } catch (error) {
    expect(error).toBeInstanceOf(FhirError);
    return error as FhirError;
  }
  throw new Error('expected a FhirError');
}

describe('parseEntry', () => {
  it.each([
    ['GET', 'Patient/p1', { kind: 'instance', resourceType: 'Patient', id: 'p1' }],
    ['GET', '/Patient/p1/_history/3', { kind: 'version', resourceType: 'Patient', id: 'p1', versionId: '3' }],
    ['GET', 'Patient?name=peter&name=james', { kind: 'search', request: { resourceType: 'Patient', parameters: { name: ['peter', 'james'] } } }],
    ['GET', 'Patient', { kind: 'search', request: { resourceType: 'Patient', parameters: {} } }],
    ['GET', 'Patient/p1/Observation?code=x', { kind: 'search', request: { resourceType: 'Observation', compartment: { resourceType: 'Patient', id: 'p1' }, parameters: { code: ['x'] } } }],
    ['GET', '?_type=Patient', { kind: 'search', request: { parameters: { _type: ['Patient'] } } }],
    ['POST', 'Patient', { kind: 'type', resourceType: 'Patient' }],
    ['PUT', 'Patient/p1', { kind: 'instance', resourceType: 'Patient', id: 'p1' }],
    // A batch runs any interaction of the route table; a transaction refuses these.
    ['GET', 'Patient/p1/_history', { kind: 'other', interaction: 'history-instance' }],
    ['POST', 'Patient/$validate', { kind: 'other', interaction: 'validate' }],
    ['DELETE', 'Patient?identifier=a%7Cb', { kind: 'conditional', criteria: expect.objectContaining({ resourceType: 'Patient', parameters: { identifier: ['a|b'] } }) }],
  ])('%s %s', (method, url, target) => {
    const resource = method === 'POST' || method === 'PUT' ? patient : undefined;
    expect(parseEntry({ resource, request: { method, url } }, 0, bundle)).toMatchObject({ method, url, target });
  });

  it('reads a PATCH entry’s JSON Patch from its Binary, and ifMatch/ifNoneExist', () => {
    const data = Buffer.from(JSON.stringify([{ op: 'remove', path: '/active' }])).toString('base64');
    expect(parseEntry({ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data }, request: { method: 'PATCH', url: 'Patient/p1', ifMatch: 'W/"2"' } }, 0, bundle)).toMatchObject({
      operations: [{ op: 'remove', path: '/active' }],
      ifMatch: 2,
    });
    expect(parseEntry({ resource: patient, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=a|b' } }, 0, bundle).ifNoneExist).toMatchObject({ text: 'Patient?identifier=a|b' });
  });

  it.each([
    ['not an object', 'x', 'Bundle.entry[4]'],
    ['no request', { resource: patient }, 'Bundle.entry[4].request'],
    ['a conditional read', { request: { method: 'GET', url: 'Patient/p1', ifNoneMatch: 'W/"1"' } }, 'Bundle.entry[4].request.ifNoneMatch'],
    ['a nested Bundle', { resource: { resourceType: 'Bundle', type: 'batch' }, request: { method: 'POST', url: '/' } }, 'Bundle.entry[4].request.url'],
    ['an invalid id', { request: { method: 'DELETE', url: 'Patient/a%20b' } }, 'Bundle.entry[4].request.url'],
    ['a method the path does not take', { request: { method: 'DELETE', url: 'Patient/p1/_history' } }, 'Bundle.entry[4].request.url'],
    ['a PUT of a whole type', { resource: patient, request: { method: 'PUT', url: 'Patient' } }, 'Bundle.entry[4].request.url'],
    ['malformed percent-encoding', { request: { method: 'GET', url: 'Patient/%E0%A4%A' } }, 'Bundle.entry[4].request.url'],
    ['a non-numeric version', { request: { method: 'GET', url: 'Patient/p1/_history/one' } }, 'Bundle.entry[4].request.url'],
    ['a patch that is no JSON Patch', { resource: { resourceType: 'Binary', data: Buffer.from('[{"op":"jump"}]').toString('base64') }, request: { method: 'PATCH', url: 'Patient/p1' } }, 'Bundle.entry[4].resource.data'],
    ['a patch of another content type', { resource: { resourceType: 'Binary', contentType: 'application/merge-patch+json', data: 'e30=' }, request: { method: 'PATCH', url: 'Patient/p1' } }, 'Bundle.entry[4].resource.contentType'],
    ['a non-string fullUrl', { fullUrl: 7, resource: patient, request: { method: 'POST', url: 'Patient' } }, 'Bundle.entry[4].fullUrl'],
  ])('refuses %s with 400 at the right element', (_name, raw, expression) => {
    const error = parseError(raw);
    expect(error.status).toBe(400);
    expect(error.issues[0].expression).toEqual([expression]);
    expect(error.issues[0].diagnostics).toMatch(/^Bundle\.entry\[4\]/);
  });
});

it('refuses an unknown resource type with 404, as over HTTP', () => {
  const error = parseError({ request: { method: 'GET', url: 'Patientx/p1' } });
  expect(error.status).toBe(404);
  expect(error.issues[0].expression).toEqual(['Bundle.entry[4].request.url']);
});

describe('atEntry', () => {
  const entry = parseEntry({ resource: patient, request: { method: 'PUT', url: 'Patient/p1' } }, 7, bundle);

  it('moves resource paths under the entry resource, the rest under request.url, and names the entry', () => {
    const error = new FhirError(400, [
      { severity: 'error', code: 'invalid', diagnostics: 'bad gender', expression: ['Patient.gender'] },
      { severity: 'error', code: 'invalid', diagnostics: 'bad type', expression: ['resourceType'] },
      { severity: 'error', code: 'invalid', diagnostics: 'bad id', expression: ['id'] },
      { severity: 'error', code: 'conflict', diagnostics: 'stale' },
      { severity: 'error', code: 'invalid', diagnostics: 'already placed', expression: ['Bundle.entry[7].request.ifMatch'] },
    ]);
    const moved = atEntry(error, entry) as FhirError;
    expect(moved.status).toBe(400);
    expect(moved.issues.map((issue) => issue.expression)).toEqual([
      ['Bundle.entry[7].resource.gender'],
      ['Bundle.entry[7].resource.resourceType'],
      ['Bundle.entry[7].request.url'],
      ['Bundle.entry[7]'],
      ['Bundle.entry[7].request.ifMatch'],
    ]);
    expect(moved.issues[0].diagnostics).toBe('Bundle.entry[7] (PUT Patient/p1): bad gender');
  });

  it('leaves anything that is not a FhirError alone', () => {
    const crash = new TypeError('boom');
    expect(atEntry(crash, entry)).toBe(crash);
  });
});

describe('statusText', () => {
  it('is the code and its reason phrase, as R4 response.status shows it', () => {
    expect([201, 204, 412].map(statusText)).toEqual(['201 Created', '204 No Content', '412 Precondition Failed']);
  });
});
