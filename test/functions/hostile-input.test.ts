/**
 * The hostile-input probe of issue 12, case by case, against the real handlers and DynamoDB
 * Local: prototype-named keys, parameters and patch paths, deep nesting, lone surrogates,
 * contained resources that break dom-2 … dom-5, and the JSON representation rules of R4
 * json.html. Each answers 4xx with an OperationOutcome naming the place at fault (or is
 * accepted where R4 allows it), and the tenant holds no invalid content afterwards.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../core/fhir/input-gate.js';
import { invoke, type ProxyRequest } from '../support/proxy-event.js';

const tenant = `hostile-${randomUUID().slice(0, 8)}`;
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

/** A raw body with `"name": value` at the top of a Patient: JSON.stringify would drop a `__proto__` key. */
function patientWith(name: string, valueJson: string): string {
  return `{"resourceType":"Patient","${name}":${valueJson}}`;
}

/** Deep JSON as text: the test's own JSON.stringify would overflow first. */
function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;
}

function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;
}

function nestedExtensions(depth: number): string {
  return `${'{"url":"u","extension":['.repeat(depth)}{"url":"u","valueString":"x"}${']}'.repeat(depth)}`;
}

const create = (body: unknown, headers?: Record<string, string>): ProxyRequest => ({ method: 'POST', path: '/Patient', pathParameters: { resourceType: 'Patient' }, body, headers, tenant });

interface Case {
  readonly name: string;
  readonly handler: 'create' | 'update' | 'patch' | 'search' | 'bundle' | 'validate';
  readonly request: ProxyRequest;
  readonly status: number;
  /** The expression of the first issue, when the case has a place at fault. */
  readonly expression?: string;
}

const CASES: Case[] = [
  ...PROTOTYPE_NAMES.map((name): Case => ({ name: `"${name}" at the top of a resource`, handler: 'create', request: create(patientWith(name, '{"active":true}')), status: 400, expression: `Patient.${name}` })),
  ...PROTOTYPE_NAMES.map((name): Case => ({ name: `"${name}" in meta`, handler: 'create', request: create(`{"resourceType":"Patient","meta":{"${name}":"x"}}`), status: 400, expression: `Patient.meta.${name}` })),
  { name: '10,000-deep arrays', handler: 'create', request: create(`{"resourceType":"Patient","extension":${nestedArrays(10_000)}}`), status: 400, expression: `Patient.extension${'[0]'.repeat(MAX_JSON_DEPTH - 1)}` },
  { name: '5,000-deep objects', handler: 'create', request: create(`{"resourceType":"Patient","extension":[${nestedObjects(5_000)}]}`), status: 400 },
  { name: '2,000-deep extensions', handler: 'create', request: create(`{"resourceType":"Patient","extension":[${nestedExtensions(2_000)}]}`), status: 400 },
  { name: 'a lone surrogate', handler: 'create', request: create('{"resourceType":"Patient","name":[{"family":"a\\ud800b"}]}'), status: 400, expression: 'Patient.name[0].family' },
  { name: 'a contained resource without id', handler: 'create', request: create({ resourceType: 'Patient', managingOrganization: { reference: '#' }, contained: [{ resourceType: 'Organization', name: 'x' }] }), status: 400, expression: 'Patient.contained[0]' },
  { name: 'an unreferenced contained resource (dom-3)', handler: 'create', request: create({ resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }] }), status: 400, expression: 'Patient.contained[0]' },
  {
    name: 'duplicate contained ids',
    handler: 'create',
    request: create({ resourceType: 'Patient', managingOrganization: { reference: '#o' }, contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }, { resourceType: 'Organization', id: 'o', name: 'y' }] }),
    status: 400,
    expression: 'Patient.contained[1].id',
  },
  { name: 'name as an object', handler: 'create', request: create({ resourceType: 'Patient', name: {} }), status: 400, expression: 'Patient.name' },
  { name: 'gender as an array', handler: 'create', request: create({ resourceType: 'Patient', gender: [] }), status: 400, expression: 'Patient.gender' },
  { name: 'active as an object', handler: 'create', request: create({ resourceType: 'Patient', active: {} }), status: 400, expression: 'Patient.active' },
  { name: 'given misaligned with _given', handler: 'create', request: create({ resourceType: 'Patient', name: [{ given: ['a', 'b'], _given: [{ id: 'g' }] }] }), status: 400, expression: 'Patient.name[0].given' },
  {
    name: 'a wrong valueBoolean, named with ofType()',
    handler: 'create',
    request: { method: 'POST', path: '/Observation', pathParameters: { resourceType: 'Observation' }, body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueBoolean: 'yes' }, tenant },
    status: 400,
    expression: 'Observation.value.ofType(boolean)',
  },
  {
    name: '"constructor" in If-None-Exist',
    handler: 'create',
    request: create({ resourceType: 'Patient' }, { 'if-none-exist': 'constructor=x' }),
    status: 400,
    expression: 'If-None-Exist',
  },
  ...PROTOTYPE_NAMES.map((name): Case => ({
    name: `"${name}" as a form field of POST _search`,
    handler: 'search',
    request: { method: 'POST', path: '/Patient/_search', pathParameters: { resourceType: 'Patient' }, body: `${encodeURIComponent(name)}=x`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, tenant },
    // Lenient handling: an unknown parameter is ignored and reported in the searchset.
    status: 200,
  })),
  ...PROTOTYPE_NAMES.map((name): Case => ({ name: `"${name}" as a query parameter`, handler: 'search', request: { method: 'GET', path: '/Patient', pathParameters: { resourceType: 'Patient' }, query: [[name, 'x']], tenant }, status: 200 })),
  ...['batch', 'transaction'].map((type): Case => ({
    name: `"Patient?constructor=x" in a ${type}`,
    handler: 'bundle',
    request: { method: 'POST', path: '/', body: { resourceType: 'Bundle', type, entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'PUT', url: 'Patient?constructor=x' } }] }, tenant },
    status: type === 'batch' ? 200 : 400,
  })),
  { name: 'an update whose body has a prototype-named key', handler: 'update', request: { method: 'PUT', path: '/Patient/p1', pathParameters: { resourceType: 'Patient', id: 'p1' }, body: '{"resourceType":"Patient","id":"p1","constructor":{}}', tenant }, status: 400, expression: 'Patient.constructor' },
  { name: '$validate of a 5,000-deep resource', handler: 'validate', request: { method: 'POST', path: '/Patient/$validate', pathParameters: { resourceType: 'Patient', id: '$validate' }, body: `{"resourceType":"Patient","extension":[${nestedObjects(5_000)}]}`, tenant }, status: 200 },
];

const PATCH_PATHS = ['/__proto__/polluted', '/constructor/prototype/polluted', '/toString/polluted', '/__proto__', '/valueOf'];

describe('hostile input', () => {
  beforeAll(async () => {
    const created = await invoke('update', { method: 'PUT', path: '/Patient/target', pathParameters: { resourceType: 'Patient', id: 'target' }, body: { resourceType: 'Patient', id: 'target', active: true }, tenant });
    expect(created.status).toBe(201);
  });

  it.each(CASES)('$name → $status', async ({ handler, request, status, expression }) => {
    const response = await invoke(handler, request);

    expect(response.status).toBe(status);
    if (status >= 400) {
      expect(response.json.resourceType).toBe('OperationOutcome');
    }
    if (expression !== undefined) {
      expect(response.json.issue[0].expression).toEqual([expression]);
    }
  });

  it('reports a 5,000-deep resource in $validate at the depth limit', async () => {
    const response = await invoke('validate', CASES.find((found) => found.name.startsWith('$validate'))!.request);

    expect(response.json.issue).toEqual([expect.objectContaining({ code: 'too-costly', diagnostics: expect.stringContaining(String(MAX_JSON_DEPTH)) })]);
  });

  it.each(PATCH_PATHS)('a JSON Patch adding at %s → 422, no prototype touched', async (path) => {
    const response = await invoke('patch', {
      method: 'PATCH',
      path: '/Patient/target',
      pathParameters: { resourceType: 'Patient', id: 'target' },
      body: [{ op: 'add', path, value: { active: false } }],
      headers: { 'content-type': 'application/json-patch+json' },
      tenant,
    });

    expect(response.status).toBe(422);
    expect(response.json.issue[0].expression).toEqual(['[0]']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype.toString as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stored nothing but the patch target, unchanged', async () => {
    const history = await invoke('history', { method: 'GET', path: '/Patient/_history', pathParameters: { resourceType: 'Patient' }, tenant });
    const observations = await invoke('history', { method: 'GET', path: '/Observation/_history', pathParameters: { resourceType: 'Observation' }, tenant });

    expect(history.json.entry.map((entry: { fullUrl: string }) => entry.fullUrl.replace(/^.*\/Patient\//, 'Patient/'))).toEqual(['Patient/target']);
    expect(history.json.entry[0].resource).toMatchObject({ id: 'target', active: true, meta: { versionId: '1' } });
    expect(observations.json.entry ?? []).toEqual([]);
  });
});
