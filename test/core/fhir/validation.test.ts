import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../core/errors.js';
import { assertValidResource, validateResource } from '../../../core/fhir/validation.js';

const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';

function expressions(issues: OperationOutcomeIssue[]): string[] {
  return issues.flatMap((outcomeIssue) => outcomeIssue.expression ?? []).sort();
}

function condition(clinicalStatus: unknown): unknown {
  return { resourceType: 'Condition', subject: { reference: 'Patient/p1' }, clinicalStatus };
}

describe('validateResource', () => {
  it('reports a bad code and a wrong JSON type, each at its element', () => {
    const issues = validateResource({ resourceType: 'Patient', gender: 'mail', active: 'yes' });

    expect(issues).toHaveLength(2);
    expect(issues.every((i) => i.severity === 'error')).toBe(true);
    expect(expressions(issues)).toEqual(['Patient.active', 'Patient.gender']);
    expect(issues.find((i) => i.expression?.[0] === 'Patient.gender')).toMatchObject({
      code: 'code-invalid',
      diagnostics: expect.stringContaining('http://hl7.org/fhir/ValueSet/administrative-gender'),
    });
  });

  it('checks required bindings inside datatypes, with the array index in the expression', () => {
    const issues = validateResource({ resourceType: 'Patient', name: [{ use: 'official', family: 'Chalmers' }, { use: 'bogus', family: 'Windsor' }] });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'code-invalid', expression: ['Patient.name[1].use'] });
  });

  it('accepts codes nested under other concepts in their code system', () => {
    expect(validateResource({ resourceType: 'Patient', name: [{ use: 'maiden', family: 'Windsor' }] })).toEqual([]);
    expect(validateResource(condition({ coding: [{ system: CONDITION_CLINICAL, code: 'resolved' }] }))).toEqual([]);
  });

  it('checks the invariants of datatypes nested in the resource', () => {
    const issues = validateResource({ resourceType: 'Patient', name: [{ family: 'Shaw', period: { start: '2020-01-01', end: '2010-01-01' } }] });

    expect(issues).toEqual([expect.objectContaining({ code: 'invariant', expression: ['Patient.name[0].period'] })]);
  });

  it('requires Observation.status and the code of each component', () => {
    const issues = validateResource({
      resourceType: 'Observation',
      code: { text: 'Blood pressure' },
      component: [{ code: { text: 'Systolic' }, valueQuantity: { value: 120 } }, { valueQuantity: { value: 80 } }],
    });

    expect(expressions(issues)).toEqual(['Observation.component[1].code', 'Observation.status']);
  });

  it('needs a coding from the value set in a required CodeableConcept', () => {
    const wrongCode = validateResource(condition({ coding: [{ system: CONDITION_CLINICAL, code: 'cured' }] }));
    const wrongSystem = validateResource(condition({ coding: [{ system: 'http://snomed.info/sct', code: 'active' }] }));
    const textOnly = validateResource(condition({ text: 'Active' }));

    for (const issues of [wrongCode, wrongSystem, textOnly]) {
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ code: 'code-invalid', expression: ['Condition.clinicalStatus'] });
    }
  });

  it('accepts a required CodeableConcept whose matching coding sits beside a translation', () => {
    const clinicalStatus = {
      coding: [
        { system: 'http://example.org/local-status', code: 'A' },
        { system: CONDITION_CLINICAL, code: 'active' },
      ],
    };
    expect(validateResource(condition(clinicalStatus))).toEqual([]);
  });

  it('accepts a required code that is absent with a data-absent-reason extension', () => {
    const dataAbsent = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
    expect(validateResource({ resourceType: 'Patient', _gender: dataAbsent })).toEqual([]);
  });

  it('finds no error in valid resources, absolute references included', () => {
    const patient = {
      resourceType: 'Patient',
      id: 'p1',
      meta: { lastUpdated: '2024-01-02T03:04:05.000Z' },
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Amy Shaw</div>' },
      identifier: [{ use: 'usual', system: 'urn:oid:2.16.840.1.113883.4.3.25', value: '999-12-3456' }],
      name: [{ use: 'official', family: 'Shaw', given: ['Amy', 'V.'] }],
      telecom: [{ system: 'phone', value: '555-0100', use: 'home' }],
      gender: 'female',
      birthDate: '1987-02-20',
      address: [{ use: 'home', type: 'physical', line: ['49 Meadow St'], city: 'Mounds', state: 'OK', postalCode: '74047' }],
      maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] },
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-US' }] } }],
    };
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      subject: { reference: 'urn:uuid:8d2b5c57-0c1d-4c3f-9a3b-1f2e3d4c5b6a' },
      performer: [{ reference: 'https://fhir.example.org/Practitioner/pr1' }],
      effectiveDateTime: '2024-01-02T03:04:05Z',
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 80, comparator: '<', unit: 'mm[Hg]' } },
      ],
    };

    expect(validateResource(patient)).toEqual([]);
    expect(validateResource(observation)).toEqual([]);
  });

  it('validates resources nested in a Bundle, with the path through the entry', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Encounter', status: 'done', class: { code: 'AMB' } } }],
    };

    expect(expressions(validateResource(bundle))).toEqual(['Bundle.entry[0].resource.status']);
  });

  it.each([
    ['a non-object', 'Patient', 'invalid'],
    ['an array', [{ resourceType: 'Patient' }], 'invalid'],
    ['null', null, 'invalid'],
    ['a resource without resourceType', { id: 'p1' }, 'required'],
    ['an unknown resource type', { resourceType: 'Patientt' }, 'not-supported'],
    ['an abstract resource type', { resourceType: 'DomainResource' }, 'not-supported'],
  ])('rejects %s with one clear issue', (_name, resource, code) => {
    const issues = validateResource(resource);

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: 'error', code });
  });

  it('accepts base64 with white space between groups, as R4 allows, and still rejects what is not base64', () => {
    const spaced = { resourceType: 'Binary', contentType: 'text/plain', data: 'SGVs bG8s IHdv\ncmxk' };
    expect(validateResource(spaced)).toEqual([]);
    const garbage = { resourceType: 'Binary', contentType: 'text/plain', data: 'SGVs bG8s !!!!' };
    expect(expressions(validateResource(garbage))).toEqual(['Binary.data']);
    const ragged = { resourceType: 'Binary', contentType: 'text/plain', data: 'SGVs bG8' };
    expect(expressions(validateResource(ragged))).toEqual(['Binary.data']);
  });

  it('orders Period bounds as instants, across a daylight-saving change, and still rejects an end before the start', () => {
    const encounter = (start: string, end: string) => ({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start, end } });
    // 05:52Z to 06:07Z, written in the two offsets of the night the clocks went back.
    expect(validateResource(encounter('2022-11-06T01:52:06-04:00', '2022-11-06T01:07:06-05:00'))).toEqual([]);
    expect(validateResource(encounter('2020', '2020-06'))).toEqual([]);
    expect(expressions(validateResource(encounter('2022-11-06T01:52:06-05:00', '2022-11-06T01:07:06-05:00')))).toEqual(['Encounter.period']);
    expect(expressions(validateResource(encounter('2021', '2020')))).toEqual(['Encounter.period']);
  });

  it('names where an unknown nested resource type sits', () => {
    const issues = validateResource({ resourceType: 'Patient', managingOrganization: { reference: '#o1' }, contained: [{ resourceType: 'Org', id: 'o1' }] });

    expect(issues).toEqual([expect.objectContaining({ code: 'not-supported', expression: ['Patient.contained[0]'] })]);
  });

  it('rejects a contained resource without resourceType', () => {
    expect(validateResource({ resourceType: 'Patient', managingOrganization: { reference: '#o1' }, contained: [{ id: 'o1' }] })).toHaveLength(1);
  });

  it('turns input the validator cannot walk into an issue, not an exception', () => {
    expect(validateResource({ resourceType: 'Patient', _gender: 'not-an-object' })).toHaveLength(1);
  });
});

describe('assertValidResource', () => {
  it('throws a 400 FhirError carrying every error', () => {
    let thrown: unknown;
    try {
      assertValidResource({ resourceType: 'Patient', gender: 'mail', active: 'yes' });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(FhirError);
    expect((thrown as FhirError).status).toBe(400);
    expect(expressions((thrown as FhirError).issues)).toEqual(['Patient.active', 'Patient.gender']);
  });

  it('passes a valid resource', () => {
    expect(() => assertValidResource({ resourceType: 'Patient', gender: 'other' })).not.toThrow();
  });
});
