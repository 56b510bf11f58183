/**
 * Property-based fuzzing of the handlers with fast-check, against DynamoDB Local: arbitrary JSON
 * and FHIR-shaped resources, search parameters, Bundle entries and JSON Patch documents. The
 * properties: never a 5xx, every 4xx an OperationOutcome, nothing invalid stored, and a
 * transaction that fails writes nothing. Runs are bounded and seeded (`FUZZ_SEED` overrides the
 * seed); fast-check prints the seed and the shrunk counterexample of a failure.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateResource } from '../../core/fhir/validation.js';
import { invoke, type ProxyResponse } from '../support/proxy-event.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_612);
const RUNS = 200;
const PROPERTY_TIMEOUT = 240_000;

const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];

/** Element names a Patient has, names it does not, and names JavaScript objects inherit. */
const PATIENT_KEYS = ['id', 'meta', 'text', 'contained', 'extension', 'identifier', 'active', 'name', 'gender', 'birthDate', 'deceasedBoolean', 'address', 'managingOrganization', '_gender', '_birthDate', 'notAnElement', ...PROTOTYPE_NAMES];

/** Values of every JSON shape, FHIR-looking ones more often. */
const fhirValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('male', 'female', '2000-01-01', 'Organization/1', '#o', '', '\ud800', 'urn:uuid:1', 'http://x'),
    fc.string(),
    fc.boolean(),
    fc.double(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...PATIENT_KEYS, 'family', 'given', 'url', 'valueString', 'reference', 'system', 'value', 'resourceType'), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const fhirShapedPatient = fc.dictionary(fc.constantFrom(...PATIENT_KEYS), fhirValue, { maxKeys: 5 }).map((fields) => ({ ...fields, resourceType: 'Patient' }));

/** A raw body: JSON.stringify of an object drops nothing fast-check builds, `__proto__` keys included (they are own properties). */
const body = (value: unknown): string => JSON.stringify(value) ?? 'null';

function assertAnswered(response: ProxyResponse): void {
  expect(response.status, JSON.stringify(response.json)?.slice(0, 500)).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.json?.resourceType).toBe('OperationOutcome');
  }
}

async function check(property: fc.IAsyncProperty<[unknown]> | fc.IAsyncProperty<unknown[]>): Promise<void> {
  await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true });
}

describe('fuzzing the handlers', () => {
  const tenant = `fuzz-${randomUUID().slice(0, 8)}`;

  it(
    'create: arbitrary JSON and FHIR-shaped Patients never get a 5xx, and what is stored is valid',
    async () => {
      await check(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), fhirShapedPatient), async (resource) => {
          const response = await invoke('create', { method: 'POST', path: '/Patient', pathParameters: { resourceType: 'Patient' }, body: body(resource), tenant });
          assertAnswered(response);
          if (response.status === 201) {
            expect(validateResource(response.json)).toEqual([]);
          }
        }),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'search: arbitrary parameter names and values, in the query and in a form body',
    async () => {
      const name = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, 'name', 'gender:not', 'birthdate', '_id', '_count', '_sort', '_include', '_has:Observation:subject:code', 'general-practitioner.name'), fc.string({ maxLength: 20 }));
      const value = fc.oneof(fc.constantFrom('x', 'ge2000', 'a|b', 'Patient/1', '1,2', '\\', ''), fc.string({ maxLength: 20 }));
      await check(
        fc.asyncProperty(fc.array(fc.tuple(name, value), { maxLength: 4 }), fc.boolean(), async (parameters, asForm) => {
          const response = asForm
            ? await invoke('search', {
                method: 'POST',
                path: '/Patient/_search',
                pathParameters: { resourceType: 'Patient' },
                body: new URLSearchParams(parameters).toString(),
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                tenant,
              })
            : await invoke('search', { method: 'GET', path: '/Patient', pathParameters: { resourceType: 'Patient' }, query: parameters, tenant });
          assertAnswered(response);
        }),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'transaction: arbitrary entries never get a 5xx, and a failed transaction writes nothing',
    async () => {
      const transactionTenant = `fuzz-tx-${randomUUID().slice(0, 8)}`;
      const request = fc.record({
        method: fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH', 'GET', 'HEAD'),
        url: fc.oneof(fc.constantFrom('Patient', 'Patient/a', 'Patient?constructor=x', 'Patient?identifier=s|v', 'Patient?__proto__=1', 'Observation', 'Patient/../x'), fc.string({ maxLength: 20 })),
      });
      const arbitraryEntry = fc.record({ fullUrl: fc.constantFrom(undefined, 'urn:uuid:1', 'urn:uuid:2'), resource: fc.oneof(fhirShapedPatient, fhirValue), request }, { requiredKeys: ['request'] });
      // Valid creates, so that some transactions succeed and a failing one could show a partial write.
      const validCreate = fc.record({ resource: fc.record({ resourceType: fc.constant('Patient'), gender: fc.constantFrom('male', 'female'), active: fc.boolean() }), request: fc.constant({ method: 'POST', url: 'Patient' }) });
      const entry = fc.oneof({ arbitrary: validCreate, weight: 3 }, { arbitrary: arbitraryEntry, weight: 1 });
      let written = 0;
      await check(
        fc.asyncProperty(fc.array(entry, { maxLength: 4 }), async (entries) => {
          const response = await invoke('bundle', { method: 'POST', path: '/', body: body({ resourceType: 'Bundle', type: 'transaction', entry: entries }), tenant: transactionTenant });
          assertAnswered(response);
          if (response.status === 200) {
            // An upper bound of the versions it wrote: reads and matched conditional creates are 200 too.
            written += (response.json.entry as { response: { status: string } }[]).filter((answer) => answer.response.status.startsWith('2')).length;
          }
        }),
      );
      // Every version in the tenant comes from a transaction that succeeded.
      const history = await invoke('history', { method: 'GET', path: '/Patient/_history', pathParameters: { resourceType: 'Patient' }, query: [['_count', '1000']], tenant: transactionTenant });
      expect(written).toBeGreaterThan(0);
      expect(history.json.entry?.length ?? 0).toBeLessThanOrEqual(written);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'patch: arbitrary JSON Patch documents never get a 5xx, and a patched resource is valid',
    async () => {
      const created = await invoke('update', { method: 'PUT', path: '/Patient/patched', pathParameters: { resourceType: 'Patient', id: 'patched' }, body: { resourceType: 'Patient', id: 'patched', name: [{ family: 'F', given: ['G'] }] }, tenant });
      expect(created.status).toBeLessThan(300);
      const segment = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, ...PATIENT_KEYS, 'name', '0', '1', '-', 'family', 'given'), fc.string({ maxLength: 6 }));
      const pointer = fc.array(segment, { maxLength: 4 }).map((tokens) => tokens.map((token) => `/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''));
      const operation = fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'), path: pointer, from: pointer, value: fhirValue }, { requiredKeys: ['op', 'path'] });
      await check(
        fc.asyncProperty(fc.oneof(fc.array(operation, { maxLength: 3 }), fc.jsonValue()), async (patch) => {
          const response = await invoke('patch', {
            method: 'PATCH',
            path: '/Patient/patched',
            pathParameters: { resourceType: 'Patient', id: 'patched' },
            body: body(patch),
            headers: { 'content-type': 'application/json-patch+json' },
            tenant,
          });
          assertAnswered(response);
          if (response.status === 200) {
            expect(validateResource(response.json)).toEqual([]);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '$validate: arbitrary JSON is answered 200 or 4xx',
    async () => {
      await check(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), fhirShapedPatient), async (resource) => {
          const response = await invoke('validate', { method: 'POST', path: '/Patient/$validate', pathParameters: { resourceType: 'Patient', id: '$validate' }, body: body(resource), tenant });
          assertAnswered(response);
        }),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
